//! The floor of the syscall benchmark (bench/metrics/syscalls.sh): loads a BPF object
//! (`bench/metrics/empty.bpf.c`, compiled by the script) and attaches the named
//! programs (empty ones, on the same attach points as berth's syscall programs), then
//! holds them until it is killed (the kernel drops the links with the process).
//!
//!     empty_probe OBJECT.o PROGRAM...

use std::process::ExitCode;

use libbpf_rs::ObjectBuilder;

fn main() -> ExitCode {
    match run() {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("empty_probe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<std::convert::Infallible, String> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: empty_probe OBJECT.o PROGRAM...")?;
    let wanted: Vec<String> = args.collect();
    let object = ObjectBuilder::default()
        .open_file(&path)
        .map_err(|e| format!("opening BPF object {path}: {e}"))?
        .load()
        .map_err(|e| format!("loading BPF object {path}: {e}"))?;
    let mut links = Vec::new();
    for name in &wanted {
        let prog = object
            .progs_mut()
            .find(|p| p.name() == name.as_str())
            .ok_or_else(|| format!("no program {name} in {path}"))?;
        links.push(
            prog.attach()
                .map_err(|e| format!("attaching program {name}: {e}"))?,
        );
    }
    println!("attached {}", wanted.join(" "));
    loop {
        std::thread::park();
    }
}
