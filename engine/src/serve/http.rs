//! HTTP plumbing shared by the handlers: the response body type, JSON and empty replies,
//! request bodies read under a size limit, JSON decoded into typed models (malformed or
//! wrongly shaped -> 400), and the query string.

use std::collections::HashMap;
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ApiError, ApiResult};

/// Every response body: a full buffer or a stream (logs, events, pull progress, wait).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// The largest JSON request body accepted (docker's create bodies are a few KiB).
pub const MAX_JSON_BODY: usize = 1 << 20;

/// A body of exactly these bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

/// An empty reply with `status` (204 for start/stop/kill, 304 for "already started").
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// `value` as JSON with `status`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(mut body) => {
            body.push(b'\n');
            let mut r = Response::new(full(body));
            *r.status_mut() = status;
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Err(e) => error_response(&ApiError::internal(format!("encoding the reply: {e}"))),
    }
}

/// Docker's error body `{"message": "..."}` with the error's status.
pub fn error_response(e: &ApiError) -> Response<Body> {
    let body = serde_json::json!({ "message": e.message });
    let mut r = Response::new(full(format!("{body}\n")));
    *r.status_mut() = e.status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A streamed reply: 200 with `content_type`, its headers sent at once, and a sender
/// for the body's chunks (usable from blocking threads with `blocking_send`); the body
/// ends when every sender is dropped, and sends fail once the client went away.
pub fn streaming(content_type: &'static str) -> (tokio::sync::mpsc::Sender<Bytes>, Response<Body>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let (mut body_tx, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(4);
    tokio::spawn(async move {
        while let Some(chunk) = rx.recv().await {
            if body_tx.send_data(chunk).await.is_err() {
                // The client went away: dropping rx fails the producer's next send.
                return;
            }
        }
    });
    let mut r = Response::new(body.boxed());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    (tx, r)
}

/// The whole request body, refused with 413 past `limit` bytes. Takes the body or a
/// `&mut` to it (a hijacked request's body is read before the upgrade).
pub async fn read_body<B>(body: B, limit: usize) -> ApiResult<Bytes>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {limit} bytes"),
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "reading the request body: {e}"
        ))),
    }
}

/// Decodes a JSON request body into `T`: malformed JSON or a wrongly typed field is a 400
/// naming what was being decoded; an empty body is `None`.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> ApiResult<Option<T>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in {what}: {e}")))
}

/// The query string's parameters (later duplicates win; docker's handlers read one value).
#[derive(Debug, Default, Clone)]
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Docker's boolean parameters: absent, "", "0", "false", "False" are false.
    pub fn flag(&self, key: &str) -> bool {
        !matches!(
            self.get(key),
            None | Some("" | "0" | "false" | "False" | "FALSE")
        )
    }

    /// An integer parameter; a value that is not one is a 400.
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!("invalid value for {key}: {v:?} is not an integer"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_flags_and_ints() {
        let q = Query::parse(Some("all=1&limit=3&stream=false&t=x&name=a%2Fb"));
        assert!(q.flag("all"));
        assert!(!q.flag("stream"));
        assert!(!q.flag("missing"));
        assert_eq!(q.int("limit").ok().flatten(), Some(3));
        assert!(q.int("t").is_err());
        assert_eq!(q.get("name"), Some("a/b"));
    }

    #[test]
    fn json_errors_are_400() {
        let e = decode_json::<serde_json::Value>(b"{nope", "the container config").err();
        assert_eq!(e.map(|e| e.status), Some(StatusCode::BAD_REQUEST));
        assert_eq!(
            decode_json::<serde_json::Value>(b"  ", "x").ok(),
            Some(None)
        );
    }
}
