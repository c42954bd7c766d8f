//! The container verbs as library functions, one file per verb: the `berth` CLI
//! (`src/cli/`) and `berth serve` call these, never two implementations.
//!
//! - [`create`]: a record from an image and flags ([`create::CreateOptions`]);
//! - [`start`]: spawn the monitor ([`start::start`], [`start::start_attached`]);
//! - [`list`]: `ps`; [`display`]: docker's wording of times and states;
//! - [`logs`]: the json-file log read back, `--follow` across rotation;
//! - [`stop`], [`kill`], [`wait`], [`remove`], [`inspect`].
//! - [`restart`], [`rename`], [`top`] (ps columns), [`stats`] (cgroup figures),
//!   [`port`], [`prune`] (`container prune`).

pub mod create;
pub mod display;
pub mod inspect;
pub mod kill;
pub mod list;
pub mod logs;
pub mod remove;
pub mod start;
pub mod stop;
pub mod wait;
// restart, rename, top, stats, port, container prune (terminal/exec helper).
pub mod port;
pub mod prune;
pub mod rename;
pub mod resize;
pub mod restart;
pub mod stats;
pub mod top;
