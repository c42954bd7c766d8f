//! Builds the BPF programs into libbpf skeletons and the x86_64 syscall name table.
//!
//! - `src/bpf/<family>.bpf.c` -> `$OUT_DIR/<family>.skel.rs` through clang (Debian's
//!   `clang-19` unless `BERTH_BPF_CLANG` names another) and `libbpf-cargo`.
//! - the kernel's `asm/unistd_64.h` (or `BERTH_UNISTD_H`) -> `$OUT_DIR/syscall_names.rs`,
//!   so syscall names are never typed by hand.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use libbpf_cargo::SkeletonBuilder;

/// The program families, and `layouts` (never loaded: the record types of `events.h`).
const FAMILIES: &[&str] = &[
    "syscalls",
    "process",
    "net",
    "oom",
    "signals",
    "sockets",
    "files",
    "privileged",
    "layouts",
];
const DEFAULT_CLANG: &str = "clang-19";
const DEFAULT_UNISTD: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let bpf_dir = manifest_dir.join("src").join("bpf");
    let clang = env::var("BERTH_BPF_CLANG").unwrap_or_else(|_| DEFAULT_CLANG.to_string());

    println!("cargo:rerun-if-env-changed=BERTH_BPF_CLANG");
    println!("cargo:rerun-if-env-changed=BERTH_UNISTD_H");
    println!(
        "cargo:rerun-if-changed={}",
        bpf_dir.join("berth.h").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        bpf_dir.join("events.h").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        bpf_dir.join("audit.h").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        bpf_dir.join("vmlinux.h").display()
    );

    for family in FAMILIES {
        let src = bpf_dir.join(format!("{family}.bpf.c"));
        println!("cargo:rerun-if-changed={}", src.display());
        let skel = out_dir.join(format!("{family}.skel.rs"));
        SkeletonBuilder::new()
            .source(&src)
            .clang(&clang)
            .clang_args([
                "-I".to_string(),
                bpf_dir.display().to_string(),
                "-D__TARGET_ARCH_x86".to_string(),
                "-Wall".to_string(),
            ])
            .build_and_generate(&skel)
            .unwrap_or_else(|e| {
                panic!(
                    "building BPF skeleton {} with {clang}: {e:#}",
                    src.display()
                )
            });
    }

    let unistd = env::var("BERTH_UNISTD_H").unwrap_or_else(|_| DEFAULT_UNISTD.to_string());
    println!("cargo:rerun-if-changed={unistd}");
    let table = syscall_table(Path::new(&unistd));
    fs::write(out_dir.join("syscall_names.rs"), table)
        .unwrap_or_else(|e| panic!("writing syscall_names.rs to {}: {e}", out_dir.display()));
}

/// Rust source for `SYSCALL_NAMES: &[&str]`, indexed by syscall number ("" for gaps).
fn syscall_table(unistd: &Path) -> String {
    let text = fs::read_to_string(unistd).unwrap_or_else(|e| {
        panic!(
            "reading syscall numbers from {} (install linux-libc-dev, or set BERTH_UNISTD_H): {e}",
            unistd.display()
        )
    });
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some("#define"), Some(symbol), Some(number)) =
            (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let (Some(name), Ok(nr)) = (symbol.strip_prefix("__NR_"), number.parse::<usize>()) else {
            continue;
        };
        if names.len() <= nr {
            names.resize(nr + 1, String::new());
        }
        names[nr] = name.to_string();
    }
    assert!(
        names.len() > 300,
        "{} defines only {} syscalls: not an x86_64 unistd_64.h",
        unistd.display(),
        names.len()
    );
    let mut src =
        String::from("/// Syscall names by number, generated from the kernel's unistd_64.h.\n");
    let _ = writeln!(src, "pub static SYSCALL_NAMES: [&str; {}] = [", names.len());
    for name in &names {
        let _ = writeln!(src, "    {name:?},");
    }
    src.push_str("];\n");
    src
}
