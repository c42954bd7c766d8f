//! OCI lifecycle hooks.
