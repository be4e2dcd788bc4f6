//! BLKPG_RESIZE_PARTITION on a whole disk: the kernel takes a partition's
//! new size from the caller, as `resizepart` does, because re-reading the
//! whole table (BLKRRPART) is refused while any partition of the disk is in
//! use, and the root partition always is.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::io;

use rustix::fs::{Mode, OFlags};
use rustix::ioctl::{Opcode, Setter, opcode};

/// `_IO(0x12, 105)` in linux/fs.h.
const BLKPG: Opcode = opcode::none(0x12, 105);
/// linux/blkpg.h.
const BLKPG_RESIZE_PARTITION: c_int = 3;
const NAME_LEN: usize = 64;

/// `struct blkpg_partition`.
#[repr(C)]
struct BlkpgPartition {
    /// Bytes.
    start: i64,
    /// Bytes.
    length: i64,
    pno: c_int,
    devname: [u8; NAME_LEN],
    volname: [u8; NAME_LEN],
}

/// `struct blkpg_ioctl_arg`.
#[repr(C)]
struct BlkpgIoctlArg {
    op: c_int,
    flags: c_int,
    datalen: c_int,
    data: *mut c_void,
}

pub fn resize(disk: &str, number: u32, start: u64, length: u64) -> io::Result<()> {
    let invalid = || io::Error::from(io::ErrorKind::InvalidInput);
    let mut part = BlkpgPartition {
        start: i64::try_from(start).map_err(|_| invalid())?,
        length: i64::try_from(length).map_err(|_| invalid())?,
        pno: c_int::try_from(number).map_err(|_| invalid())?,
        devname: [0; NAME_LEN],
        volname: [0; NAME_LEN],
    };
    let arg = BlkpgIoctlArg {
        op: BLKPG_RESIZE_PARTITION,
        flags: 0,
        datalen: c_int::try_from(size_of::<BlkpgPartition>()).map_err(|_| invalid())?,
        data: (&raw mut part).cast(),
    };
    let fd = rustix::fs::open(disk, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    // SAFETY: BLKPG takes a pointer to a `struct blkpg_ioctl_arg`, which
    // `BlkpgIoctlArg` lays out with repr(C); its `data` points at `part`, a
    // repr(C) `struct blkpg_partition` that lives on this stack frame until
    // the call returns. The kernel only reads both (copy_from_user).
    unsafe { rustix::ioctl::ioctl(&fd, Setter::<BLKPG, BlkpgIoctlArg>::new(arg)) }?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_structs_have_the_kernels_layout() {
        // linux/blkpg.h on LP64: two long longs, an int, two 64-byte names,
        // padded to 8; three ints and a pointer, padded before the pointer.
        if cfg!(target_pointer_width = "64") {
            assert_eq!(size_of::<BlkpgPartition>(), 152);
            assert_eq!(size_of::<BlkpgIoctlArg>(), 24);
            assert_eq!(std::mem::offset_of!(BlkpgIoctlArg, data), 16);
        }
        assert_eq!(std::mem::offset_of!(BlkpgPartition, devname), 20);
        assert_eq!(BLKPG, 0x1269);
    }
}
