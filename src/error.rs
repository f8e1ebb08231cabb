//! The one error type of the service and the HTTP layer; each variant maps to a status.

use crate::fields::Problems;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: every problem, each naming its field path.
    #[error("invalid request")]
    BadRequest(Problems),
    #[error("missing, malformed, unknown or revoked token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// Logged in full, answered without details.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A 400 with one problem.
    pub fn bad(path: &str, problem: impl std::fmt::Display) -> Error {
        let mut problems = Problems::default();
        problems.add(path, problem);
        Error::BadRequest(problems)
    }
}

impl From<Problems> for Error {
    fn from(problems: Problems) -> Error {
        Error::BadRequest(problems)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
