//! A registry that answers what a test tells it to: manifests by tag or
//! digest from a table, or a body of any size generated on the fly, so
//! tests can play a hostile registry without storing large files.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// What the registry answers for one manifest reference.
#[derive(Debug, Clone)]
pub enum Answer {
    Manifest {
        media_type: String,
        body: Vec<u8>,
    },
    /// `size` bytes of spaces, streamed; with a Content-Length header or
    /// until the connection closes.
    Huge {
        size: u64,
        announced: bool,
    },
}

#[derive(Debug)]
pub struct HostileRegistry {
    host: String,
    manifests: Arc<Mutex<BTreeMap<String, Answer>>>,
    requests: Arc<AtomicUsize>,
}

impl HostileRegistry {
    pub fn start() -> HostileRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let host = listener.local_addr().expect("address").to_string();
        let manifests: Arc<Mutex<BTreeMap<String, Answer>>> = Arc::default();
        let requests = Arc::new(AtomicUsize::new(0));
        let (table, count) = (manifests.clone(), requests.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (table, count) = (table.clone(), count.clone());
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    loop {
                        let mut header = String::new();
                        match reader.read_line(&mut header) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if header == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let answer =
                        key(&path).and_then(|k| table.lock().expect("table").get(&k).cloned());
                    if answer.is_some() {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    let _ = respond(stream, &path, answer);
                });
            }
        });
        HostileRegistry {
            host,
            manifests,
            requests,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.host.clone()
    }

    /// Answers `reference` (a tag or `sha256:...`) with `answer`; a key
    /// `blob:DIGEST` answers for that blob, and `referrers:DIGEST` for the
    /// referrers API's list of artifacts about DIGEST.
    pub fn set(&self, reference: &str, answer: Answer) {
        self.manifests
            .lock()
            .expect("table")
            .insert(reference.to_string(), answer);
    }

    /// Manifest requests answered so far.
    pub fn manifest_requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// The table key a request path asks for.
fn key(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    if let Some((_, r)) = path.split_once("/manifests/") {
        return Some(r.to_string());
    }
    if let Some((_, d)) = path.split_once("/referrers/") {
        return Some(format!("referrers:{d}"));
    }
    path.split_once("/blobs/").map(|(_, d)| format!("blob:{d}"))
}

fn respond(
    mut out: std::net::TcpStream,
    path: &str,
    answer: Option<Answer>,
) -> std::io::Result<()> {
    match answer {
        _ if path == "/v2/" || path == "/v2" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        }
        Some(Answer::Manifest { media_type, body }) => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: {media_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            out.write_all(&body)
        }
        Some(Answer::Huge { size, announced }) => {
            let length = if announced {
                format!("Content-Length: {size}\r\n")
            } else {
                String::new()
            };
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n{length}Connection: close\r\n\r\n"
            )?;
            let chunk = vec![b' '; 64 << 10];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                out.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            Ok(())
        }
        None => {
            let body = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"none"}]}"#;
            write!(
                out,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    }
}
