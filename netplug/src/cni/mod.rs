//! The CNI contract: what the runtime hands us and what we hand back.

pub mod config;
pub mod error;
pub mod invocation;
pub mod result;
pub mod version;
