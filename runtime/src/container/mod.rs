//! The container lifecycle, one verb per file.

pub mod create;
pub mod delete;
pub mod kill;
pub mod list;
pub mod run;
pub mod start;
pub mod status;

pub use create::{CreateOptions, create};
pub use delete::delete;
pub use kill::kill;
pub use start::start;
