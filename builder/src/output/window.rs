//! A region of a disk image file seen as a file of its own, so the
//! partition writers (squashfs, FAT) write at their offset 0 while the bytes
//! land at the partition's place in the disk, with no copy.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

#[derive(Debug)]
pub struct Window<'a> {
    file: &'a File,
    base: u64,
    pos: u64,
    /// The highest offset written, relative to `base`.
    end: u64,
}

impl<'a> Window<'a> {
    pub fn new(file: &'a File, base: u64) -> Window<'a> {
        Window {
            file,
            base,
            pos: 0,
            end: 0,
        }
    }

    /// How far into the window anything was written.
    pub fn written_end(&self) -> u64 {
        self.end
    }
}

impl Write for Window<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write_all_at(buf, self.base + self.pos)?;
        self.pos += buf.len() as u64;
        self.end = self.end.max(self.pos);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.base + self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let next = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.end.checked_add_signed(d),
        };
        self.pos = next.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the window's start",
            )
        })?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_land_at_the_window_offset_and_seeks_are_relative() {
        let file = tempfile::tempfile().expect("tmp");
        let mut w = Window::new(&file, 4096);
        w.write_all(b"abcdef").expect("write");
        w.seek(SeekFrom::Start(1)).expect("seek");
        w.write_all(b"X").expect("write");
        assert_eq!(w.written_end(), 6);
        let mut back = [0u8; 6];
        file.read_exact_at(&mut back, 4096).expect("read");
        assert_eq!(&back, b"aXcdef");
        assert!(w.seek(SeekFrom::Current(-10)).is_err());
    }
}
