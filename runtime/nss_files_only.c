/* Linked into the static-pie berth-runtime only (runtime/build.rs, when crt-static is on).
 *
 * A statically linked glibc still follows /etc/nsswitch.conf: a lookup that `files`
 * cannot answer (`list` naming the owner of a state directory whose uid is not in
 * /etc/passwd) goes on to the next source, and glibc dlopens its module (libnss_systemd,
 * libnss_ldap), which pulls a second, shared libc into the static process: it crashes.
 * Reading only the files keeps every lookup inside the binary, as runc does (it parses
 * /etc/passwd and /etc/group itself); a uid without a name is shown as `#UID`. */
#include <nss.h>

__attribute__((constructor)) static void berth_nss_files_only(void)
{
    /* Fails only when glibc cannot allocate; then the configuration stays as it was. */
    __nss_configure_lookup("passwd", "files");
    __nss_configure_lookup("group", "files");
}
