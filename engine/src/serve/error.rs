//! The API's error edge: every failure becomes docker's `{"message": "..."}` body with
//! docker's status code, because clients branch on both (a 404 "No such image: ..." from
//! `containers/create` is what makes the docker CLI pull and retry).

use hyper::StatusCode;

/// One failed request: the status docker would answer and the message it would print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong (bad JSON, bad parameter, bad name).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: the object is not there, or the route does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 404 with docker's wording, which the CLI matches to decide to pull.
    pub fn no_such_image(name: &str) -> Self {
        Self::not_found(format!("No such image: {name}"))
    }

    /// 404 with docker's wording for containers.
    pub fn no_such_container(name: &str) -> Self {
        Self::not_found(format!("No such container: {name}"))
    }

    /// 409: the object exists but is in the wrong state (name in use, running, ...).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 500: the engine failed doing what was asked.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 501: a route docker has and berth does not serve (yet).
    pub fn not_implemented(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("{what} is not implemented by berth serve"),
        )
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
