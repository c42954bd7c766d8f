//! Reading and pruning the per-CPU counter maps: sum the CPUs, key by cgroup id.

use libbpf_rs::{MapCore, MapFlags};

use crate::Error;

/// One entry of a per-CPU map whose value is `N` u64 counters, summed over CPUs.
pub(crate) struct SummedEntry<const N: usize> {
    pub key: Vec<u8>,
    pub values: [u64; N],
}

/// Every entry of a per-CPU hash map whose value is `N` u64 counters.
pub(crate) fn summed_entries<const N: usize>(
    map: &dyn MapCore,
    name: &'static str,
) -> Result<Vec<SummedEntry<N>>, Error> {
    let mut entries = Vec::new();
    for key in map.keys() {
        let per_cpu = match map.lookup_percpu(&key, MapFlags::ANY) {
            Ok(Some(per_cpu)) => per_cpu,
            // Deleted between listing and lookup: a cgroup just pruned.
            Ok(None) => continue,
            Err(source) => {
                return Err(Error::Map {
                    operation: "reading",
                    map: name,
                    source,
                });
            }
        };
        let mut values = [0u64; N];
        for cpu in &per_cpu {
            if cpu.len() < N * 8 {
                return Err(Error::MapLayout {
                    map: name,
                    len: cpu.len(),
                    expected: N * 8,
                });
            }
            for (i, value) in values.iter_mut().enumerate() {
                *value = value.wrapping_add(u64_at(cpu, i * 8));
            }
        }
        entries.push(SummedEntry { key, values });
    }
    Ok(entries)
}

/// Deletes every entry whose key starts with a cgroup id that `keep` rejects.
/// Returns how many were deleted.
pub(crate) fn prune(
    map: &dyn MapCore,
    name: &'static str,
    keep: &dyn Fn(u64) -> bool,
) -> Result<usize, Error> {
    let doomed: Vec<Vec<u8>> = map
        .keys()
        .filter(|key| key.len() >= 8 && !keep(u64_at(key, 0)))
        .collect();
    for key in &doomed {
        map.delete(key).map_err(|source| Error::Map {
            operation: "deleting an entry of",
            map: name,
            source,
        })?;
    }
    Ok(doomed.len())
}

/// How many entries a hash map holds now.
pub(crate) fn entry_count(map: &dyn MapCore) -> usize {
    map.keys().count()
}

/// The native-endian u64 at `offset` of `bytes` (0 past the end).
pub(crate) fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    bytes
        .get(offset..offset + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_ne_bytes)
}

/// The native-endian u32 at `offset` of `bytes` (0 past the end).
pub(crate) fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    bytes
        .get(offset..offset + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_ne_bytes)
}
