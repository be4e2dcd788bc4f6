//! Carrying out the steps of `order`: chunk by chunk, looking for Ctrl-C
//! between chunks, every short write and error named by device and offset.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::FlashError;
use super::error::Left;
use super::image::Image;
use super::order::{CHUNK, Op, Step};
use crate::ui;

/// The two ends of a flash.
#[derive(Debug)]
pub struct Ends<'a> {
    pub image: &'a Image,
    pub target: &'a File,
    pub path: &'a Path,
}

/// Runs `steps` in order. `stop` is asked before every chunk; when it says
/// yes, what was written is flushed and the flash ends as interrupted.
pub fn write(
    steps: &[Step],
    ends: &Ends<'_>,
    bar: &ui::Step,
    stop: &dyn Fn() -> bool,
) -> Result<(), FlashError> {
    let zeros = vec![0u8; CHUNK];
    let mut buf = vec![0u8; CHUNK];
    let mut left = Left::Untouched;
    for step in steps {
        let range = match &step.op {
            Op::Sync => {
                sync(ends.target, ends.path)?;
                continue;
            }
            Op::Zero(range) | Op::Copy(range) => range.clone(),
        };
        let mut offset = range.start;
        while offset < range.end {
            if stop() {
                let _ = ends.target.sync_data();
                return Err(FlashError::Interrupted {
                    path: ends.path.to_path_buf(),
                    stage: step.what,
                    offset,
                    left,
                });
            }
            let n = (range.end - offset).min(CHUNK as u64) as usize;
            let data = match step.op {
                Op::Copy(_) => {
                    ends.image.read_at(&mut buf[..n], offset)?;
                    &buf[..n]
                }
                _ => &zeros[..n],
            };
            write_all_at(ends.target, data, offset).map_err(|(at, source)| FlashError::Write {
                path: ends.path.to_path_buf(),
                offset: at,
                what: step.what,
                source,
            })?;
            bar.inc(n as u64);
            offset += n as u64;
        }
        if matches!(&step.op, Op::Zero(r) if r.start == 0) {
            left = Left::HeadZeroed;
        }
    }
    Ok(())
}

/// Writes all of `data` at `offset`; on failure, the offset where the
/// failing write began. A write that takes no bytes is a short write.
fn write_all_at(file: &File, mut data: &[u8], mut offset: u64) -> Result<(), (u64, io::Error)> {
    while !data.is_empty() {
        match file.write_at(data, offset) {
            Ok(0) => {
                return Err((
                    offset,
                    io::Error::new(
                        io::ErrorKind::WriteZero,
                        "short write: the device took no more bytes",
                    ),
                ));
            }
            Ok(n) => {
                data = &data[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((offset, e)),
        }
    }
    Ok(())
}

/// fdatasync; a special file that cannot sync (EINVAL) has nothing to flush.
pub fn sync(file: &File, path: &Path) -> Result<(), FlashError> {
    match file.sync_data() {
        Err(e) if rustix::io::Errno::from_io_error(&e) == Some(rustix::io::Errno::INVAL) => Ok(()),
        Err(source) => Err(FlashError::Sync {
            path: path.to_path_buf(),
            source,
        }),
        Ok(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::super::order::{self, MIB};
    use super::*;

    /// A 3 MiB + 512 byte image and a 4 MiB target full of 0xEE.
    fn setup() -> (tempfile::TempDir, Image, File, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes: Vec<u8> = (0..3 * MIB + 512).map(|i| (i % 251) as u8 + 1).collect();
        bytes[510] = 0x55;
        bytes[511] = 0xAA;
        std::fs::write(dir.path().join("image.raw"), &bytes).unwrap();
        std::fs::write(dir.path().join("target"), vec![0xEE; 4 * MIB as usize]).unwrap();
        let image = Image::open(&dir.path().join("image.raw")).unwrap();
        let target = File::options()
            .read(true)
            .write(true)
            .open(dir.path().join("target"))
            .unwrap();
        (dir, image, target, bytes)
    }

    fn run(stop_after: usize) -> (Result<(), FlashError>, Vec<u8>, Vec<u8>) {
        let (dir, image, target, bytes) = setup();
        let path = dir.path().join("target");
        let steps = order::order(image.len, Some(4 * MIB));
        let asked = Cell::new(0);
        let stop = || {
            asked.set(asked.get() + 1);
            asked.get() > stop_after
        };
        let ends = Ends {
            image: &image,
            target: &target,
            path: &path,
        };
        let result = write(&steps, &ends, &ui::Step::spinner("test"), &stop);
        (result, std::fs::read(&path).unwrap(), bytes)
    }

    #[test]
    fn a_whole_run_leaves_the_image_and_a_zeroed_tail() {
        let (result, written, image) = run(usize::MAX);
        result.unwrap();
        assert_eq!(&written[..image.len()], &image[..]);
        assert!(written[3 * MIB as usize + 512..].iter().all(|&b| b == 0));
    }

    #[test]
    fn stopping_in_the_body_leaves_a_zeroed_head_and_says_so() {
        // Asked before the head zero, the tail zero, then the body's chunk.
        let (result, written, image) = run(2);
        let err = result.unwrap_err();
        assert!(
            matches!(
                &err,
                FlashError::Interrupted { left: Left::HeadZeroed, offset, .. } if *offset == MIB
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("first MiB is zeroed"), "{err}");
        assert!(written[..MIB as usize].iter().all(|&b| b == 0));
        assert!(
            written[MIB as usize..3 * MIB as usize]
                .iter()
                .all(|&b| b == 0xEE)
        );
        assert_ne!(&written[..image.len()], &image[..]);
    }

    #[test]
    fn stopping_before_the_first_chunk_writes_nothing() {
        let (result, written, _) = run(0);
        assert!(matches!(
            result,
            Err(FlashError::Interrupted {
                left: Left::Untouched,
                ..
            })
        ));
        assert!(written.iter().all(|&b| b == 0xEE));
    }

    #[test]
    fn a_device_that_takes_no_more_bytes_is_named_with_the_offset() {
        let (dir, image, _, _) = setup();
        let full = File::options().write(true).open("/dev/full").unwrap();
        let path = Path::new("/dev/full");
        let ends = Ends {
            image: &image,
            target: &full,
            path,
        };
        let steps = order::order(image.len, None);
        let err = write(&steps, &ends, &ui::Step::spinner("test"), &|| false).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/dev/full") && text.contains("at byte 0"),
            "{text}"
        );
        drop(dir);
    }
}
