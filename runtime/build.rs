//! Link options of the `berth-runtime` binary that keep its peak memory small.

fn main() {
    // Relative relocations as a compact bitmap (DT_RELR, glibc 2.36+) instead of a
    // 24-byte Rela entry each: the dynamic loader reads ~240 KiB less of the binary
    // at every start, all of which counted in the runtime's RSS (bench/runtime).
    // Both linkers used here support it: rust-lld and GNU ld >= 2.38.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
