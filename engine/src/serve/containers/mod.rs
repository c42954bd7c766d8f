//! The `/containers/...` endpoints, one file per concern, each calling the engine's
//! library verb.

pub mod create_body;
