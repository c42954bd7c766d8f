//! Link options of the `berth-runtime` binary that keep its peak memory small.
//! Also the commit id that `berth-runtime --version` prints, and a hash of the code that
//! builds seccomp programs (part of the program cache's key).

fn main() {
    // Relative relocations as a compact bitmap (DT_RELR, glibc 2.36+) instead of a
    // 24-byte Rela entry each: the dynamic loader reads ~240 KiB less of the binary
    // at every start, all of which counted in the runtime's RSS (bench/runtime).
    // Both linkers used here support it: rust-lld and GNU ld >= 2.38.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // Cold functions (`#[cold]`, panic and error paths: `.text.unlikely.*`) grouped apart
    // instead of spread between hot ones: fewer of the kernel's 64 KiB fault-around windows
    // of the binary's code are mapped by a `create` that never runs them (-60 KiB peak RSS).
    println!("cargo:rustc-link-arg-bins=-Wl,-z,keep-text-section-prefix");
    static_nss_files_only();
    commit_id();
    seccomp_code_hash();
}

/// In a static build (scripts/build-runtime.sh: `+crt-static`), links nss_files_only.c:
/// glibc's name lookups read /etc/passwd and /etc/group only and never dlopen an NSS module,
/// which would crash a statically linked process (the file says why).
fn static_nss_files_only() {
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if !features.split(',').any(|f| f == "crt-static") {
        return;
    }
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/nss_files_only.c");
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CC");
    let Ok(out_dir) = std::env::var("OUT_DIR") else {
        fail("OUT_DIR is not set (build.rs runs under cargo)");
    };
    let obj = std::path::Path::new(&out_dir).join("nss_files_only.o");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = std::process::Command::new(&cc)
        .args(["-c", "-O2", "-fPIE", "-Wall", "-Werror", src, "-o"])
        .arg(&obj)
        .status();
    match status {
        Ok(s) if s.success() => println!("cargo:rustc-link-arg-bins={}", obj.display()),
        Ok(s) => fail(&format!("compiling {src} with {cc}: {s}")),
        Err(e) => fail(&format!("running {cc} to compile {src}: {e}")),
    }
}

/// Stops the build with a message cargo shows.
fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1)
}

/// `BERTH_RUNTIME_COMMIT` for `--version`: the commit built from (a build from a tarball
/// can set it), else git's HEAD, else "unknown".
fn commit_id() {
    println!("cargo:rerun-if-env-changed=BERTH_RUNTIME_COMMIT");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
    };
    // Rebuilt when HEAD moves: HEAD itself (checkout), the branch it names (commit),
    // packed-refs (gc); nothing else of the work tree changes the id.
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--absolute-git-dir"]),
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
    ) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={common}/packed-refs");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={common}/{branch}");
        }
    }
    let commit = std::env::var("BERTH_RUNTIME_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BERTH_RUNTIME_COMMIT={commit}");
}

/// `BERTH_SECCOMP_CODE`: a hash of the sources that turn a profile into a BPF program, in
/// the key of the runtime's program cache (seccomp/cache.rs), so a build off an
/// uncommitted tree (same commit, other code) never reads programs an older build cached.
/// Hashed here, not at run time, so `create` neither carries nor reads the sources.
fn seccomp_code_hash() {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in ["src/seccomp/compile.rs", "src/seccomp/enosys.rs"] {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        println!("cargo:rerun-if-changed={path}");
        match std::fs::read(&path) {
            Ok(text) => text.hash(&mut hasher),
            Err(e) => fail(&format!("reading {path}: {e}")),
        }
    }
    println!(
        "cargo:rustc-env=BERTH_SECCOMP_CODE={:016x}",
        hasher.finish()
    );
}
