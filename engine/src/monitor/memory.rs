//! The monitor's resident memory while its container runs. Everything the monitor did to
//! start the container (the CLI's argument parser, the image store, the network, the
//! spec) stays mapped afterwards: the kernel maps file pages in 64 KiB windows around
//! each fault, so a monitor kept ~4.6 MB of the `berth` binary's code and ~1.4 MB of
//! libc resident for a container that only needs a wait loop (VmRSS 7.9 MB, conmon's
//! is 2 MB). Once the container runs, [`shed_startup_pages`] gives back:
//! - the code and read-only data of every file the monitor maps, where no page of the
//!   mapping was ever copied on write: such a mapping holds only the file's own pages,
//!   so dropping them (`MADV_DONTNEED`) loses nothing, and the few pages the wait loop
//!   and the teardown run are read back from the page cache when they run;
//! - the free heap (`malloc_trim`).
//!
//! Relocated data (RELRO), .data, .bss, the heap in use and the stacks stay.

/// One mapping of `/proc/self/smaps`: its address range and what decides whether it can
/// be dropped.
#[derive(Debug, Default, PartialEq)]
struct Mapping {
    start: usize,
    end: usize,
    /// `rwxp` as smaps prints it.
    perms: String,
    /// A path for a file mapping (`[heap]`, `[stack]`, ... and "" for the others).
    path: String,
    /// kB of pages copied on write (Anonymous) or swapped out (Swap): not in the file.
    private_kb: u64,
}

impl Mapping {
    /// A private, never-written mapping of a file: all its pages are the file's.
    fn is_clean_file_copy(&self) -> bool {
        self.path.starts_with('/')
            && self.perms.starts_with('r')
            && !self.perms.contains('w')
            && self.perms.ends_with('p')
            && self.private_kb == 0
    }
}

/// The mappings of an smaps text.
fn parse_smaps(text: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            let perms = words.next().unwrap_or("").to_string();
            // offset, device, inode, then the path (which may hold spaces)
            let path = words.skip(3).collect::<Vec<_>>().join(" ");
            out.push(Mapping {
                start,
                end,
                perms,
                path,
                private_kb: 0,
            });
        } else if matches!(first, "Anonymous:" | "Swap:")
            && let Some(m) = out.last_mut()
        {
            // A value that does not parse counts as private: that mapping is kept.
            m.private_kb += words.next().and_then(|v| v.parse().ok()).unwrap_or(1);
        }
    }
    out
}

/// Drops the pages the monitor needed only to start its container (see the module doc).
/// Best effort: a failure leaves the memory as it was.
pub fn shed_startup_pages() {
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for m in parse_smaps(&text) {
        if !m.is_clean_file_copy() {
            continue;
        }
        // SAFETY: the range is one whole mapping of ours that holds only unmodified
        // pages of its file (no Anonymous or Swap pages): after MADV_DONTNEED the next
        // access reads the same bytes back from the file, code included.
        let rc = unsafe {
            libc::madvise(
                m.start as *mut libc::c_void,
                m.end - m.start,
                libc::MADV_DONTNEED,
            )
        };
        if rc != 0 {
            tracing::debug!(
                mapping = %m.path,
                error = %std::io::Error::last_os_error(),
                "monitor: dropping startup pages"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55b86c60c000-55b86c800000 r--p 00000000 fe:00 123 /usr/bin/berth
Size:               2000 kB
Anonymous:             0 kB
Swap:                  0 kB
55b86d00b000-55b86d057000 r--p 009fd000 fe:00 123 /usr/bin/berth
Anonymous:           304 kB
Swap:                  0 kB
55b86d057000-55b86d05a000 rw-p 00a48000 fe:00 123 /usr/bin/berth
Anonymous:             0 kB
7f0000000000-7f0000001000 r-xp 00000000 fe:00 9 /opt/a dir/lib.so
Anonymous:             0 kB
Swap:                  4 kB
7f0000002000-7f0000003000 r-xp 00000000 fe:00 9 /lib/libc.so.6
Anonymous:             0 kB
Swap:                  0 kB
7f0000004000-7f0000005000 r--s 00000000 fe:00 9 /dev/shm/x
Anonymous:             0 kB
7ffc00000000-7ffc00001000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
";

    /// Only private read-only file mappings with no page of their own are dropped: not
    /// relocated data, writable data, swapped-out copies, shared or special mappings.
    #[test]
    fn only_unmodified_private_file_mappings_are_dropped() {
        let maps = parse_smaps(SMAPS);
        assert_eq!(maps.len(), 7);
        assert_eq!(maps[3].path, "/opt/a dir/lib.so");
        let dropped: Vec<(usize, &str)> = maps
            .iter()
            .filter(|m| m.is_clean_file_copy())
            .map(|m| (m.start, m.path.as_str()))
            .collect();
        assert_eq!(
            dropped,
            vec![
                (0x55b86c60c000, "/usr/bin/berth"),
                (0x7f0000002000, "/lib/libc.so.6")
            ]
        );
    }

    /// Dropping the pages of the running test binary's own code and data keeps it
    /// working: the pages come back from the file.
    #[test]
    fn the_process_runs_on_after_its_pages_are_dropped() {
        let before = std::hint::black_box(vec![1u8, 2, 3]);
        shed_startup_pages();
        let maps = parse_smaps(&std::fs::read_to_string("/proc/self/smaps").expect("smaps"));
        assert!(maps.iter().any(|m| m.is_clean_file_copy()), "{maps:?}");
        assert_eq!(before.iter().map(|b| *b as u32).sum::<u32>(), 6);
        assert_eq!(format!("{:?}", parse_smaps("")), "[]");
    }
}
