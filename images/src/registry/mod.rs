//! The registry side of the image store: `pull`, `push`, `login`/`logout` against OCI
//! distribution v2 registries, through `oci-client` (oras-project). What it lacks is
//! built around it here, not in a fork: docker `config.json` credentials
//! ([`credentials`]), resuming a broken layer download with Range and retrying with
//! backoff ([`download`]), mirrors and insecure registries ([`settings`]), platform
//! selection with variants ([`platform`]), and the credential check of `login`.
//!
//! A request reads straight through: [`reference`] parses the name, [`manifest`]
//! resolves it to one image manifest (an index through [`platform`]), [`pull`] fetches
//! the config and the missing layers ([`download`], checked by [`verify`]) and records
//! the image through [`store_link`] (the only file that calls the store).
//!
//! tokio runs only inside these calls: each builds its own runtime, so the engine and
//! the CLI stay synchronous.

pub mod credentials;
mod download;
mod error;
pub mod login;
mod manifest;
pub mod platform;
mod progress;
pub use progress::{ProgressEvent, ProgressSink};
pub mod pull;
pub mod push;
pub mod reference;
mod session;
pub mod settings;
mod store_link;
mod verify;

pub use credentials::Credentials;
pub use error::RegistryError;
pub use login::{login, logout};
pub use platform::Platform;
pub use pull::{PullOptions, PullPolicy, Pulled, ensure_image, pull};
pub use push::{Pushed, push};
pub use settings::RegistrySettings;

/// The runtime of one registry call: two workers (the machine's size; layer hashing
/// and writing run on blocking threads besides).
fn runtime() -> Result<tokio::runtime::Runtime, RegistryError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RegistryError::Runtime)
}
