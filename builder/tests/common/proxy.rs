//! A TCP proxy in front of a registry that cuts the connection in the middle
//! of a chosen blob's download, to test interrupted transfers.
//!
//! ```ignore
//! let proxy = CuttingProxy::start(&reg.host(), layer.hex(), 40_000, 1);
//! // pull through proxy.host(): the first download of `layer` stops after 40 kB.
//! ```

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

/// A running proxy; it stops accepting when dropped.
#[derive(Debug)]
pub struct CuttingProxy {
    host: String,
    stop: Arc<AtomicBool>,
    cuts_left: Arc<AtomicUsize>,
}

impl CuttingProxy {
    /// Forwards to `upstream`; the next `cuts` responses to `GET .../blobs/sha256:<hex>`
    /// are cut after `after_bytes` bytes (headers included).
    pub fn start(upstream: &str, hex: &str, after_bytes: usize, cuts: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let host = listener.local_addr().expect("proxy address").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let cuts_left = Arc::new(AtomicUsize::new(cuts));
        let needle = format!("/blobs/sha256:{hex}").into_bytes();
        let upstream = upstream.to_string();
        let (stop2, cuts2) = (stop.clone(), cuts_left.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(&upstream)) else {
                    continue;
                };
                let ctx = Conn {
                    needle: needle.clone(),
                    after_bytes,
                    cuts_left: cuts2.clone(),
                    armed: Arc::new(AtomicBool::new(false)),
                };
                ctx.run(client, server);
            }
        });
        CuttingProxy {
            host,
            stop,
            cuts_left,
        }
    }

    /// `127.0.0.1:PORT` to use as the registry part of image references.
    pub fn host(&self) -> String {
        self.host.clone()
    }

    /// How many of the planned cuts have not happened yet.
    pub fn cuts_left(&self) -> usize {
        self.cuts_left.load(Ordering::SeqCst)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.host);
    }
}

#[derive(Clone)]
struct Conn {
    needle: Vec<u8>,
    after_bytes: usize,
    cuts_left: Arc<AtomicUsize>,
    /// Set when the request just forwarded is for the blob to cut.
    armed: Arc<AtomicBool>,
}

impl Conn {
    fn run(self, client: TcpStream, server: TcpStream) {
        let (c_read, s_write) = (
            client.try_clone().expect("clone"),
            server.try_clone().expect("clone"),
        );
        let up = self.clone();
        thread::spawn(move || up.requests(c_read, s_write));
        thread::spawn(move || self.responses(server, client));
    }

    fn requests(self, mut from: TcpStream, mut to: TcpStream) {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            let wanted = chunk.starts_with(b"GET ")
                && chunk.windows(self.needle.len()).any(|w| w == self.needle);
            if wanted
                && self
                    .cuts_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                    .is_ok()
            {
                self.armed.store(true, Ordering::SeqCst);
            }
            if to.write_all(chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    }

    fn responses(self, mut from: TcpStream, mut to: TcpStream) {
        let mut buf = vec![0u8; 16 * 1024];
        let mut sent_while_armed = 0usize;
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut chunk = &buf[..n];
            let armed = self.armed.load(Ordering::SeqCst);
            if armed {
                let room = self.after_bytes.saturating_sub(sent_while_armed);
                chunk = &chunk[..chunk.len().min(room)];
                sent_while_armed += chunk.len();
            }
            if to.write_all(chunk).is_err() {
                break;
            }
            if armed && sent_while_armed >= self.after_bytes {
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    }
}
