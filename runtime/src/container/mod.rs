//! The container lifecycle, one verb per file.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod exec_cgroup;
pub mod features;
pub mod foreground;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod start;
pub mod status;
pub mod terminal;
pub mod update;

pub use create::{CreateOptions, create};
pub use delete::delete;
pub use kill::kill;
pub use start::start;
