//! One registry conversation: an oci-client [`Client`] set up from berth's settings
//! (plain http only for insecure registries, timeouts so a stalled connection fails and
//! is retried, no platform resolver: [`super::manifest`] selects), the credentials
//! for the registry, and the mapping of oci-client's errors onto [`RegistryError`].

use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::credentials::{self, Credentials};
use super::{RegistryError, RegistrySettings};

/// How long a read may stall before the connection counts as broken (and is resumed).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client and the settings it was made from.
pub struct Registry {
    pub client: Client,
    pub settings: RegistrySettings,
}

impl Registry {
    /// A client for `hosts` (the registry and its mirrors).
    pub fn new(settings: RegistrySettings, hosts: &[&str]) -> Self {
        Registry {
            client: client(&settings, hosts),
            settings,
        }
    }
}

/// A client for the registries in `hosts` (`host[:port]`, the registry and its mirrors).
pub fn client(settings: &RegistrySettings, hosts: &[&str]) -> Client {
    // reqwest is built without a default TLS provider (ring instead of aws-lc, see
    // Cargo.toml); installing it twice is harmless, so each client makes sure.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let insecure: Vec<String> = hosts
        .iter()
        .filter(|h| settings.is_insecure(h))
        .map(|h| (*h).to_string())
        .collect();
    Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(insecure),
        platform_resolver: None,
        read_timeout: Some(READ_TIMEOUT),
        connect_timeout: Some(CONNECT_TIMEOUT),
        user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    })
}

/// The credentials to present to `registry` (berth's auth file, else docker's), or
/// anonymous.
pub fn auth_for(
    settings: &RegistrySettings,
    registry: &str,
) -> Result<RegistryAuth, RegistryError> {
    Ok(match credentials::lookup(settings, registry)? {
        Some(Credentials { username, password }) => RegistryAuth::Basic(username, password),
        None => RegistryAuth::Anonymous,
    })
}

/// What was being done, to what, for error messages.
#[derive(Clone, Copy)]
pub struct Doing<'a> {
    pub action: &'static str,
    pub reference: &'a Reference,
}

impl Doing<'_> {
    /// Maps an oci-client error onto the kind a user can act on.
    pub fn error(&self, e: OciDistributionError) -> RegistryError {
        let reference = self.reference.whole();
        let registry = self.reference.registry().to_string();
        let unauthorized = |detail: String| RegistryError::Unauthorized {
            action: self.action,
            reference: reference.clone(),
            registry: registry.clone(),
            detail,
        };
        match e {
            OciDistributionError::AuthenticationFailure(detail) => unauthorized(one_line(&detail)),
            OciDistributionError::UnauthorizedError { url } => {
                unauthorized(format!("{url} answered 401"))
            }
            OciDistributionError::RegistryError { envelope, url } => {
                let codes = &envelope.errors;
                let not_found = codes.iter().any(|c| {
                    matches!(
                        c.code,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::BlobUnknown
                            | OciErrorCode::NotFound
                    )
                });
                let denied = codes
                    .iter()
                    .any(|c| matches!(c.code, OciErrorCode::Unauthorized | OciErrorCode::Denied));
                let messages: Vec<&str> = codes.iter().map(|c| c.message.as_str()).collect();
                if not_found {
                    RegistryError::NotFound {
                        reference,
                        registry,
                    }
                } else if denied {
                    unauthorized(messages.join("; "))
                } else {
                    RegistryError::Transport {
                        action: self.action,
                        reference,
                        registry,
                        detail: format!("{url}: {}", messages.join("; ")),
                    }
                }
            }
            OciDistributionError::ServerError { code: 404, .. } => RegistryError::NotFound {
                reference,
                registry,
            },
            OciDistributionError::ServerError { code, url, message } => RegistryError::Transport {
                action: self.action,
                reference,
                registry,
                detail: format!("{url} answered {code}: {}", one_line(&message)),
            },
            OciDistributionError::UnsupportedMediaTypeError(media_type) => {
                RegistryError::UnsupportedMediaType {
                    reference,
                    media_type,
                }
            }
            OciDistributionError::DigestError(d) => RegistryError::Garbage {
                reference,
                registry,
                action: self.action,
                detail: format!("digest check failed: {d}"),
            },
            e @ (OciDistributionError::ManifestParsingError(_)
            | OciDistributionError::VersionedParsingError(_)
            | OciDistributionError::JsonError(_)
            | OciDistributionError::ManifestEncodingError(_)
            | OciDistributionError::RegistryTokenDecodeError(_)
            | OciDistributionError::SpecViolationError(_)
            | OciDistributionError::RegistryNoLocationError
            | OciDistributionError::RegistryNoDigestError) => RegistryError::Garbage {
                reference,
                registry,
                action: self.action,
                detail: e.to_string(),
            },
            e => RegistryError::Transport {
                action: self.action,
                reference,
                registry,
                detail: error_chain(&e),
            },
        }
    }
}

/// An error with its causes (reqwest hides "connection refused" two levels down).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}

/// A registry's error body shortened to one line for a message.
fn one_line(s: &str) -> String {
    let line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > 200 {
        let mut cut = 200;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &line[..cut])
    } else {
        line
    }
}
