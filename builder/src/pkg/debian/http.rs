//! HTTP for the Debian archive: blocking GETs with retries on what can be
//! transient (connection failures, timeouts, 5xx), never on content.

use std::io::Read;
use std::time::Duration;

use super::DebianError;

const TRIES: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(300);
/// No read may stall longer than this; a whole download may take longer.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How a request failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The server answered 404 or 410: retrying will not help.
    Missing(u16),
    /// Another status; 5xx and 429 are retried.
    Status(u16),
    Transport(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The answer is unusable (too large); retrying will not help.
    Refused(String),
}

impl Failure {
    fn transient(&self) -> bool {
        match self {
            Failure::Missing(_) => false,
            Failure::Status(s) => *s >= 500 || *s == 429,
            Failure::Transport(_) => true,
            Failure::Refused(_) => false,
        }
    }

    /// The user-facing error for `url`.
    pub(super) fn into_error(self, url: &str) -> DebianError {
        match self {
            Failure::Missing(status) | Failure::Status(status) => DebianError::HttpStatus {
                url: url.to_string(),
                status,
            },
            Failure::Transport(source) => DebianError::Download {
                url: url.to_string(),
                source,
            },
            Failure::Refused(reason) => DebianError::Download {
                url: url.to_string(),
                source: reason.into(),
            },
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Transport(Box::new(e))
    }
}

/// A client shared by all requests of one command (connections are reused).
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::blocking::Client,
}

impl Http {
    pub fn new() -> Result<Http, DebianError> {
        // The ring provider is the one cairn compiles in; installing it twice
        // is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(20))
            .timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| DebianError::Download {
                url: "(HTTP client setup)".into(),
                source: Box::new(e),
            })?;
        Ok(Http { client })
    }

    /// The whole body of `url` (at most `limit` bytes), with retries.
    pub fn get_bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>, DebianError> {
        self.get(url, limit).map_err(|e| e.into_error(url))
    }

    /// Opens `url`; the caller reads the body.
    pub(super) fn open(&self, url: &str) -> Result<reqwest::blocking::Response, Failure> {
        let response = self
            .client
            .get(url)
            .send()
            .map_err(|e| Failure::Transport(Box::new(e)))?;
        let status = response.status().as_u16();
        match status {
            200 => Ok(response),
            404 | 410 => Err(Failure::Missing(status)),
            _ => Err(Failure::Status(status)),
        }
    }

    /// The whole body of `url`, at most `limit` bytes, with retries.
    pub(super) fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, Failure> {
        retry(url, || {
            let response = self.open(url)?;
            let mut body = Vec::new();
            response
                .take(limit.saturating_add(1))
                .read_to_end(&mut body)?;
            if body.len() as u64 > limit {
                return Err(Failure::Refused(format!(
                    "the answer is larger than {limit} bytes"
                )));
            }
            Ok(body)
        })
    }
}

/// Runs `attempt` until it succeeds, fails for good, or runs out of tries,
/// pausing longer after each failure.
pub(super) fn retry<T>(
    what: &str,
    mut attempt: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut pause = FIRST_BACKOFF;
    let mut tries = 1;
    loop {
        match attempt() {
            Err(e) if e.transient() && tries < TRIES => {
                tracing::info!("{what}: {e:?}; retrying in {pause:?}");
                std::thread::sleep(pause);
                pause *= 2;
                tries += 1;
            }
            other => return other,
        }
    }
}
