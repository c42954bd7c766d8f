//! `berth login` / `berth logout`: credentials are checked the way docker checks them
//! (`GET /v2/` with HTTP basic auth; a registry that answers with a Bearer challenge is
//! asked for a token with them) and only then stored in berth's auth file.
//!
//! This part speaks HTTP through reqwest directly: oci-client has no call that checks
//! credentials without naming a repository, and a pull of some repository would turn
//! "no such repository" and "wrong password" into the same 401 on token registries.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;

use super::credentials::{self, Credentials};
use super::{RegistryError, RegistrySettings};

/// Checks `credentials` against `server` (`host[:port]`, docker.io when empty) and
/// stores them.
///
/// # Errors
/// [`RegistryError::LoginRefused`] when the registry refuses them; transport errors.
pub fn login(server: &str, credentials: &Credentials) -> Result<(), RegistryError> {
    let settings = RegistrySettings::load()?;
    let server = normalize(server);
    let runtime = super::runtime()?;
    runtime.block_on(check(&settings, &server, credentials))?;
    credentials::store(&settings, &server, credentials)
}

/// Forgets the credentials for `server`; `false` when berth had none.
pub fn logout(server: &str) -> Result<bool, RegistryError> {
    let settings = RegistrySettings::load()?;
    credentials::remove(&settings, &normalize(server))
}

/// `https://host/` and the empty name as docker accepts them; Docker Hub as `docker.io`.
pub fn normalize(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.split('/').next().unwrap_or(s);
    match s {
        "" | "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        other => other.to_string(),
    }
}

async fn check(
    settings: &RegistrySettings,
    server: &str,
    c: &Credentials,
) -> Result<(), RegistryError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let host = if server == "docker.io" {
        "registry-1.docker.io"
    } else {
        server
    };
    let scheme = if settings.is_insecure(host) {
        "http"
    } else {
        "https"
    };
    let transport = |detail: String| RegistryError::Transport {
        action: "logging in to",
        reference: server.to_string(),
        registry: server.to_string(),
        detail,
    };
    let refused = |detail: String| RegistryError::LoginRefused {
        registry: server.to_string(),
        detail,
    };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| transport(super::session::error_chain(&e)))?;
    let url = format!("{scheme}://{host}/v2/");
    let res = client
        .get(&url)
        .basic_auth(&c.username, Some(&c.password))
        .send()
        .await
        .map_err(|e| transport(format!("{url}: {}", super::session::error_chain(&e))))?;
    match res.status() {
        StatusCode::OK => return Ok(()),
        StatusCode::UNAUTHORIZED => {}
        other => return Err(transport(format!("{url} answered {other}"))),
    }
    let challenge = res
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some((realm, service)) = bearer_challenge(&challenge) else {
        return Err(refused(
            "unauthorized: incorrect username or password".into(),
        ));
    };
    let mut token_req = client
        .get(&realm)
        .basic_auth(&c.username, Some(&c.password));
    if let Some(service) = service {
        token_req = token_req.query(&[("service", service), ("account", c.username.clone())]);
    }
    let res = token_req.send().await.map_err(|e| {
        transport(format!(
            "token service {realm}: {}",
            super::session::error_chain(&e)
        ))
    })?;
    match res.status() {
        StatusCode::OK => Ok(()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(refused(
            "unauthorized: incorrect username or password".into(),
        )),
        other => Err(transport(format!("token service {realm} answered {other}"))),
    }
}

/// `realm` and `service` of a `Bearer realm="...",service="..."` challenge.
fn bearer_challenge(header: &str) -> Option<(String, Option<String>)> {
    let rest = header
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| header.trim().strip_prefix("bearer "))?;
    let mut realm = None;
    let mut service = None;
    for part in split_params(rest) {
        let (k, v) = part.split_once('=')?;
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "realm" => realm = Some(v),
            "service" => service = Some(v),
            _ => {}
        }
    }
    Some((realm?, service))
}

/// Splits `a="x,y",b=z` at the commas outside quotes.
fn split_params(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse_with_quoted_commas() {
        let (realm, service) =
            bearer_challenge(r#"Bearer realm="http://127.0.0.1:9/token",service="reg",scope="repository:a:pull,push""#)
                .expect("parses");
        assert_eq!(realm, "http://127.0.0.1:9/token");
        assert_eq!(service.as_deref(), Some("reg"));
        assert!(bearer_challenge(r#"Basic realm="Registry""#).is_none());
    }

    #[test]
    fn server_names_normalize_as_docker_does() {
        assert_eq!(normalize("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize(""), "docker.io");
        assert_eq!(normalize("http://127.0.0.1:5000/"), "127.0.0.1:5000");
    }
}
