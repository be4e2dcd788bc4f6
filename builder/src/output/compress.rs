//! Compressing a stream as it is produced: gzip (flate2 with the pure-Rust
//! zlib-rs backend, a fixed header with no name and mtime 0) or zstd
//! (ruzstd's encoder, at its only implemented level, about zstd -1).
//!
//! ruzstd pulls its input from a `Read` and unwraps every I/O result, so the
//! archive is produced on a second thread into a bounded channel, and the
//! output goes through a latch that keeps the first write error instead of
//! letting the encoder panic on it.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::OutputError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Compression {
    /// gzip, which every kernel unpacks.
    #[default]
    Gzip,
    /// zstd (the kernel needs CONFIG_RD_ZSTD, which Debian's has).
    Zstd,
    /// No compression.
    None,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        }
    }
}

const CHUNK: usize = 128 * 1024;

/// Runs `produce` with a writer whose bytes land in `out`, compressed.
/// `path` names the output in errors.
pub fn compress<W, F>(out: W, how: Compression, path: &Path, produce: F) -> Result<W, OutputError>
where
    W: Write + Send,
    F: FnOnce(&mut dyn Write) -> Result<(), OutputError> + Send,
{
    let fail = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    match how {
        Compression::None => {
            let mut out = out;
            produce(&mut out)?;
            Ok(out)
        }
        Compression::Gzip => {
            let mut gz = flate2::GzBuilder::new()
                .mtime(0)
                .write(out, flate2::Compression::new(6));
            produce(&mut gz)?;
            gz.finish().map_err(fail)
        }
        Compression::Zstd => std::thread::scope(|s| {
            let (tx, rx) = sync_channel(4);
            let producer = s.spawn(move || {
                let mut w = ChannelWriter {
                    tx,
                    buf: Vec::with_capacity(CHUNK),
                };
                produce(&mut w)?;
                w.send().map_err(fail)
            });
            let mut latch = Latch {
                inner: out,
                error: None,
            };
            let reader = ChannelReader {
                rx,
                chunk: Vec::new(),
                at: 0,
            };
            ruzstd::encoding::compress(
                reader,
                &mut latch,
                ruzstd::encoding::CompressionLevel::Fastest,
            );
            match producer.join() {
                Ok(result) => result?,
                Err(_) => {
                    return Err(fail(io::Error::other(
                        "the archive writer stopped unexpectedly",
                    )));
                }
            }
            if let Some(e) = latch.error {
                return Err(fail(e));
            }
            latch.inner.flush().map_err(fail)?;
            Ok(latch.inner)
        }),
    }
}

struct ChannelWriter {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the compressor stopped"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                // The producer is done (or failed, which its result reports).
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Swallows write errors after keeping the first one.
struct Latch<W> {
    inner: W,
    error: Option<io::Error>,
}

impl<W: Write> Write for Latch<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.error.is_none()
            && let Err(e) = self.inner.write_all(data)
        {
            self.error = Some(e);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
