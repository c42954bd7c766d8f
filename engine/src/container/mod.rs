//! Containers in the store: the record `create` writes, where its files are, the
//! per-container lock, ids and names, what the monitor records about a run, and the
//! status derived from those facts.
//!
//! - [`id`]: 64-hex ids; [`names`]: unique names, reserved atomically, generated (from
//!   the word lists of `name_words`);
//! - [`hostname`]: what `--hostname` may be;
//! - [`record`]: [`ContainerRecord`], `container.json`;
//! - [`store`]: directories, lock, listing, lookup by id / prefix / name;
//! - [`exit`]: monitor.json, start.json, exit.json;
//! - [`status`]: [`ContainerState`], derived each time;
//! - [`image`]: the image store as containers use it.

pub mod exit;
pub mod hostname;
pub mod id;
pub mod image;
mod name_words;
pub mod names;
pub mod record;
pub mod status;
pub mod store;

pub use record::ContainerRecord;
pub use status::{ContainerState, Status};
