//! Limits on a layer's tar stream, checked while it streams and before the
//! tar reader allocates anything: the tar crate reads a GNU long name or a
//! PAX header whole, so a 2 MB layer whose extension header claims 2 GiB
//! would cost 2 GiB of memory; and a layer of zeros expands a thousandfold.
//!
//! The guard watches the 512-byte headers go by (following PAX `size`
//! records and old GNU sparse extension blocks, as the reader does), and
//! refuses:
//! - an extension header (GNU `L`/`K`, PAX `x`/`g`) over [`MAX_EXTENSION`];
//! - a stream that expands past [`Limits::max_expanded`], or past
//!   [`Limits::max_ratio`] times the compressed layer once it is over
//!   [`Limits::ratio_floor`].

use std::io::{self, Read};

/// GNU long names and PAX headers larger than this are refused (Linux
/// paths are at most 4 KiB; xattrs at most 64 KiB each).
pub const MAX_EXTENSION: u64 = 1 << 20;

/// How far a layer may expand. From the environment: `CAIRN_MAX_LAYER_SIZE`
/// (bytes, default 64 GiB) and `CAIRN_MAX_LAYER_RATIO` (default 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_expanded: u64,
    pub max_ratio: u64,
    /// The ratio is checked only past this many expanded bytes, so small,
    /// very compressible layers are fine.
    pub ratio_floor: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_expanded: 64 << 30,
        max_ratio: 200,
        ratio_floor: 1 << 30,
    };

    pub fn from_env() -> Limits {
        let get = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        Limits {
            max_expanded: get("CAIRN_MAX_LAYER_SIZE", Self::DEFAULT.max_expanded),
            max_ratio: get("CAIRN_MAX_LAYER_RATIO", Self::DEFAULT.max_ratio),
            ratio_floor: Self::DEFAULT.ratio_floor,
        }
    }
}

#[derive(Debug)]
enum State {
    /// Collecting a header; `have` bytes of it so far.
    Header { have: usize },
    /// Entry data: `left` bytes, kept when it is a PAX header.
    Data { left: u64, keep: bool },
    /// Old GNU sparse extension blocks: one more follows while set.
    SparseExt { have: usize },
    /// Zeros to the next 512-byte boundary.
    Padding { left: u64 },
    /// After the end-of-archive block: nothing more is parsed.
    End,
}

#[derive(Debug)]
pub struct TarGuard<R> {
    inner: R,
    limits: Limits,
    compressed: u64,
    expanded: u64,
    state: State,
    block: [u8; 512],
    /// The PAX header being collected, and the size it sets for the next entry.
    pax: Vec<u8>,
    next_size: Option<u64>,
    /// The size of the entry whose header (and sparse blocks) just ended.
    entry_size: u64,
}

fn refuse(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A tar numeric field: octal text, or base-256 when the top bit is set.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(v);
    }
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The `size` record of a PAX header, if it has one (the last one wins).
/// Records are `LEN key=value\n`, LEN counting the whole record, so a
/// value may hold newlines.
fn pax_size(mut records: &[u8]) -> Option<u64> {
    let mut size = None;
    while let Some(space) = records.iter().position(|b| *b == b' ') {
        let len: usize = std::str::from_utf8(&records[..space]).ok()?.parse().ok()?;
        if len <= space || len > records.len() {
            return size;
        }
        let record = &records[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(value) = record.strip_prefix(b"size=") {
            size = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
        }
        records = &records[len..];
    }
    size
}

impl<R: Read> TarGuard<R> {
    /// Guards `inner`, the tar stream of a layer blob of `compressed` bytes.
    pub fn new(inner: R, compressed: u64, limits: Limits) -> TarGuard<R> {
        TarGuard {
            inner,
            limits,
            compressed: compressed.max(1),
            expanded: 0,
            state: State::Header { have: 0 },
            block: [0; 512],
            pax: Vec::new(),
            next_size: None,
            entry_size: 0,
        }
    }

    fn header_done(&mut self) -> io::Result<()> {
        let h = self.block;
        if h.iter().all(|b| *b == 0) {
            self.state = State::End;
            return Ok(());
        }
        let kind = h[156];
        let size = number(&h[124..136])
            .ok_or_else(|| refuse("a tar header has a size that is not a number".into()))?;
        let extension = matches!(kind, b'L' | b'K' | b'x' | b'g');
        if extension && size > MAX_EXTENSION {
            return Err(refuse(format!(
                "a tar extension header (type '{}') claims {size} bytes; more than {} KiB is refused",
                kind as char,
                MAX_EXTENSION >> 10
            )));
        }
        self.entry_size = if extension {
            size
        } else {
            self.next_size.take().unwrap_or(size)
        };
        if kind == b'x' {
            self.pax.clear();
        }
        if kind == b'S' && h[482] != 0 {
            self.state = State::SparseExt { have: 0 };
        } else {
            self.data(kind == b'x');
        }
        Ok(())
    }

    fn data(&mut self, keep: bool) {
        self.state = State::Data {
            left: self.entry_size,
            keep,
        };
        if self.entry_size == 0 {
            self.data_done();
        }
    }

    fn data_done(&mut self) {
        if let State::Data { keep: true, .. } = self.state {
            self.next_size = pax_size(&self.pax);
        }
        let pad = (512 - self.entry_size % 512) % 512;
        self.state = if pad > 0 {
            State::Padding { left: pad }
        } else {
            State::Header { have: 0 }
        };
    }

    /// Follows the stream through `bytes`, which just passed.
    fn watch(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::End => return Ok(()),
                State::Header { have } | State::SparseExt { have } => {
                    let n = (512 - *have).min(bytes.len());
                    self.block[*have..*have + n].copy_from_slice(&bytes[..n]);
                    *have += n;
                    bytes = &bytes[n..];
                    if *have == 512 {
                        if matches!(self.state, State::Header { .. }) {
                            self.header_done()?;
                        } else if self.block[504] != 0 {
                            self.state = State::SparseExt { have: 0 };
                        } else {
                            self.data(false);
                        }
                    }
                }
                State::Data { left, keep } => {
                    let n = (*left).min(bytes.len() as u64) as usize;
                    if *keep {
                        self.pax.extend_from_slice(&bytes[..n]);
                    }
                    *left -= n as u64;
                    bytes = &bytes[n..];
                    if *left == 0 {
                        self.data_done();
                    }
                }
                State::Padding { left } => {
                    let n = (*left).min(bytes.len() as u64) as usize;
                    *left -= n as u64;
                    bytes = &bytes[n..];
                    if *left == 0 {
                        self.state = State::Header { have: 0 };
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.expanded += n as u64;
        if self.expanded > self.limits.max_expanded {
            return Err(refuse(format!(
                "the layer expands past {} bytes (CAIRN_MAX_LAYER_SIZE)",
                self.limits.max_expanded
            )));
        }
        if self.expanded > self.limits.ratio_floor
            && self.expanded / self.compressed > self.limits.max_ratio
        {
            return Err(refuse(format!(
                "the layer expands more than {} times its {} compressed bytes (CAIRN_MAX_LAYER_RATIO)",
                self.limits.max_ratio, self.compressed
            )));
        }
        self.watch(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
#[path = "tar_guard_tests.rs"]
mod tests;
