//! Reading the target back and comparing it with the image, past the page
//! cache: with O_DIRECT where the target supports it, else after fsync and
//! posix_fadvise(DONTNEED) with ordinary reads.

use std::fs::File;
use std::io;
use std::num::NonZeroU64;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rustix::fs::{Advice, Mode, OFlags};
use rustix::io::Errno;
use sha2::{Digest, Sha256};

use super::FlashError;
use super::error::Left;
use super::image::Image;
use super::order::CHUNK;
use crate::ui;

/// Alignment of O_DIRECT buffers, offsets and lengths: enough for 512-byte
/// and 4096-byte sectors.
const ALIGN: usize = 4096;

/// How the target was read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBack {
    /// O_DIRECT: from the device, not the page cache.
    Direct,
    /// O_DIRECT refused (EINVAL): the cache dropped after fsync, then read.
    DroppedCache,
}

impl ReadBack {
    pub fn describe(self) -> &'static str {
        match self {
            ReadBack::Direct => "read back with O_DIRECT, bypassing the page cache",
            ReadBack::DroppedCache => {
                "read back after dropping the page cache (posix_fadvise DONTNEED): \
                 the target refused O_DIRECT"
            }
        }
    }
}

/// A buffer whose start is aligned for O_DIRECT, without unsafe code: a
/// larger vector and the aligned window inside it.
#[derive(Debug)]
struct Aligned {
    buf: Vec<u8>,
    start: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let buf = vec![0u8; len + ALIGN];
        // align_offset may say it cannot (usize::MAX): then the window is
        // unaligned, O_DIRECT reads fail with EINVAL and ordinary reads are used.
        let start = buf.as_ptr().align_offset(ALIGN).min(ALIGN);
        Aligned { buf, start }
    }

    fn get(&mut self, len: usize) -> &mut [u8] {
        &mut self.buf[self.start..self.start + len]
    }
}

/// Reads the first `image.len` bytes of `path` back and compares them with
/// the image chunk by chunk; returns the sha256 both share. `written` is
/// the descriptor the flash wrote through (flushed already).
pub fn verify(
    image: &Image,
    written: &File,
    path: &Path,
    bar: &ui::Step,
    stop: &dyn Fn() -> bool,
) -> Result<(String, ReadBack), FlashError> {
    read_back(image, written, path, true, bar, stop)
}

/// `verify`, trying O_DIRECT first only when `try_direct`.
fn read_back(
    image: &Image,
    written: &File,
    path: &Path,
    try_direct: bool,
    bar: &ui::Step,
    stop: &dyn Fn() -> bool,
) -> Result<(String, ReadBack), FlashError> {
    let direct = match try_direct {
        true => rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECT | OFlags::CLOEXEC,
            Mode::empty(),
        ),
        false => Err(Errno::INVAL),
    };
    let read_error = |offset| {
        move |source| FlashError::ReadBack {
            path: path.to_path_buf(),
            offset,
            source,
        }
    };
    match direct {
        Ok(fd) => match compare(image, &File::from(fd), path, true, bar, stop) {
            Err(Failure::DirectRefused) => {}
            Err(Failure::Flash(e)) => return Err(e),
            Ok(sha) => return Ok((sha, ReadBack::Direct)),
        },
        Err(Errno::INVAL) => {}
        Err(e) => return Err(read_error(0)(e.into())),
    }
    tracing::debug!(
        "{} refused O_DIRECT; dropping its cached pages",
        path.display()
    );
    if let Err(e) = rustix::fs::fadvise(written, 0, NonZeroU64::new(image.len), Advice::DontNeed) {
        tracing::debug!("posix_fadvise on {}: {e}", path.display());
    }
    let plain = File::open(path).map_err(read_error(0))?;
    match compare(image, &plain, path, false, bar, stop) {
        Ok(sha) => Ok((sha, ReadBack::DroppedCache)),
        Err(Failure::Flash(e)) => Err(e),
        Err(Failure::DirectRefused) => Err(read_error(0)(io::Error::from_raw_os_error(
            Errno::INVAL.raw_os_error(),
        ))),
    }
}

enum Failure {
    /// The first O_DIRECT read failed with EINVAL: read the other way.
    DirectRefused,
    Flash(FlashError),
}

impl From<FlashError> for Failure {
    fn from(e: FlashError) -> Failure {
        Failure::Flash(e)
    }
}

fn compare(
    image: &Image,
    target: &File,
    path: &Path,
    direct: bool,
    bar: &ui::Step,
    stop: &dyn Fn() -> bool,
) -> Result<String, Failure> {
    let mut theirs = Aligned::new(CHUNK);
    let mut ours = vec![0u8; CHUNK];
    let (mut image_sha, mut target_sha) = (Sha256::new(), Sha256::new());
    let mut offset = 0u64;
    while offset < image.len {
        if stop() {
            return Err(Failure::Flash(FlashError::Interrupted {
                path: path.to_path_buf(),
                stage: "reading the device back to verify it",
                offset,
                left: Left::Unverified,
            }));
        }
        let n = (image.len - offset).min(CHUNK as u64) as usize;
        // O_DIRECT reads whole aligned blocks; the bytes past the image
        // (the rest of a larger device) are read and ignored.
        let asked = if direct { n.div_ceil(ALIGN) * ALIGN } else { n };
        let got = match read_full(target, theirs.get(asked), offset, n) {
            Err(e) if direct && offset == 0 && Errno::from_io_error(&e) == Some(Errno::INVAL) => {
                return Err(Failure::DirectRefused);
            }
            Err(source) => {
                return Err(Failure::Flash(FlashError::ReadBack {
                    path: path.to_path_buf(),
                    offset,
                    source,
                }));
            }
            Ok(got) => got,
        };
        if got < n {
            return Err(Failure::Flash(FlashError::ShortRead {
                path: path.to_path_buf(),
                offset: offset + got as u64,
                needed: image.len,
            }));
        }
        image.read_at(&mut ours[..n], offset)?;
        let theirs = &theirs.get(asked)[..n];
        if let Some(at) = first_difference(&ours[..n], theirs) {
            return Err(Failure::Flash(FlashError::Mismatch {
                path: path.to_path_buf(),
                offset: offset + at as u64,
            }));
        }
        image_sha.update(&ours[..n]);
        target_sha.update(theirs);
        bar.inc(n as u64);
        offset += n as u64;
    }
    let (ours, theirs) = (image_sha.finalize(), target_sha.finalize());
    if ours != theirs {
        // Cannot happen when every chunk matched; kept as a second check.
        return Err(Failure::Flash(FlashError::Mismatch {
            path: path.to_path_buf(),
            offset: 0,
        }));
    }
    Ok(hex::encode(theirs))
}

/// Reads into `buf` at `offset` until at least `want` bytes arrived or the
/// file ended; the count read.
fn read_full(file: &File, buf: &mut [u8], offset: u64, want: usize) -> io::Result<usize> {
    let mut got = 0;
    while got < want {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The index of the first byte where `a` and `b` differ.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        return None;
    }
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or(Some(a.len().min(b.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_found_or_none() {
        assert_eq!(first_difference(b"abcd", b"abcd"), None);
        assert_eq!(first_difference(b"abcd", b"abXd"), Some(2));
        assert_eq!(first_difference(b"abcd", b"abc"), Some(3));
    }

    /// An image of `len` bytes and a copy of it as the target.
    fn flashed(len: usize) -> (tempfile::TempDir, Image, File, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        bytes[510] = 0x55;
        bytes[511] = 0xAA;
        std::fs::write(dir.path().join("image"), &bytes).unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, &bytes).unwrap();
        let image = Image::open(&dir.path().join("image")).unwrap();
        let written = File::options()
            .read(true)
            .write(true)
            .open(&target)
            .unwrap();
        (dir, image, written, target)
    }

    fn expected_sha(image: &Image) -> String {
        let mut bytes = vec![0u8; image.len as usize];
        image.read_at(&mut bytes, 0).unwrap();
        hex::encode(Sha256::digest(&bytes))
    }

    #[test]
    fn both_ways_of_reading_back_give_the_images_sha256() {
        // Not a multiple of the O_DIRECT alignment, and more than a chunk.
        let (_dir, image, written, target) = flashed(CHUNK + 5 * 512 + 7);
        let bar = ui::Step::spinner("test");
        for try_direct in [true, false] {
            let (sha, how) =
                read_back(&image, &written, &target, try_direct, &bar, &|| false).unwrap();
            assert_eq!(sha, expected_sha(&image));
            if !try_direct {
                assert_eq!(how, ReadBack::DroppedCache);
            }
        }
    }

    #[test]
    fn a_changed_byte_is_named_by_its_offset() {
        let (_dir, image, written, target) = flashed(CHUNK + 4096);
        written.write_all_at(b"!", CHUNK as u64 + 100).unwrap();
        let bar = ui::Step::spinner("test");
        for try_direct in [true, false] {
            let err =
                read_back(&image, &written, &target, try_direct, &bar, &|| false).unwrap_err();
            assert!(
                matches!(err, FlashError::Mismatch { offset, .. } if offset == CHUNK as u64 + 100),
                "{err:?}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("at byte {}", CHUNK + 100))
            );
        }
    }

    #[test]
    fn a_target_that_ends_early_is_a_short_read_at_its_end() {
        let (_dir, image, written, target) = flashed(3 * 4096);
        written.set_len(2 * 4096 + 10).unwrap();
        let bar = ui::Step::spinner("test");
        let err = read_back(&image, &written, &target, false, &bar, &|| false).unwrap_err();
        assert!(
            matches!(err, FlashError::ShortRead { offset: 8202, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn an_aligned_buffer_starts_on_a_4096_byte_boundary() {
        let mut buf = Aligned::new(CHUNK);
        let slice = buf.get(CHUNK);
        assert_eq!(slice.as_ptr() as usize % ALIGN, 0);
        assert_eq!(slice.len(), CHUNK);
    }
}
