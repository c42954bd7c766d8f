//! Seccomp filters from `linux.seccomp`, built with libseccomp.
