//! [`ContainerIndex`]: the containers of the last discovery, found by the cgroup v2 id
//! BPF counters are keyed by.

use std::collections::HashMap;

use crate::discovery::Container;

/// The containers of one discovery: those with a cgroup v2 id by that id, the others
/// (no v2 cgroup, hence no BPF counters) in a list of their own.
#[derive(Debug, Default)]
pub struct ContainerIndex {
    by_cgroup_id: HashMap<u64, Container>,
    unkeyed: Vec<Container>,
}

impl ContainerIndex {
    /// Indexes `containers`; of two with the same cgroup id, the later one stays.
    pub fn new(containers: impl IntoIterator<Item = Container>) -> Self {
        let mut index = Self::default();
        for container in containers {
            match container.cgroup_id() {
                Some(id) => {
                    index.by_cgroup_id.insert(id, container);
                }
                None => index.unkeyed.push(container),
            }
        }
        index
    }

    /// The container whose cgroup v2 id is `cgroup_id`.
    pub fn get(&self, cgroup_id: u64) -> Option<&Container> {
        self.by_cgroup_id.get(&cgroup_id)
    }

    /// The cgroup v2 ids of the indexed containers, with each container.
    pub fn keyed(&self) -> impl Iterator<Item = (u64, &Container)> {
        self.by_cgroup_id.iter().map(|(id, c)| (*id, c))
    }

    /// Every container, keyed or not.
    pub fn all(&self) -> impl Iterator<Item = &Container> {
        self.by_cgroup_id.values().chain(self.unkeyed.iter())
    }

    /// How many containers there are, keyed or not.
    pub fn len(&self) -> usize {
        self.by_cgroup_id.len() + self.unkeyed.len()
    }

    /// Whether discovery found no container.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
