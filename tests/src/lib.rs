//! Helpers shared by berth's end-to-end tests.
