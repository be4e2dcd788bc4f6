//! The device-mapper ioctls on `/dev/mapper/control`: the only `unsafe` of
//! this crate. The arguments are built and unit-tested in `dm.rs`; here
//! they are only handed to the kernel.
#![allow(unsafe_code)]

use std::io;

use rustix::fs::{Mode, OFlags};
use rustix::ioctl::{Direction, Opcode, Updater, opcode};

use crate::disk::dm::{self, BUFFER_LEN, Command, IOCTL_LEN, READONLY, Target};

const CONTROL: &str = "/dev/mapper/control";
const DM_IOCTL: u8 = 0xfd;

/// The argument buffer: the kernel reads `struct dm_ioctl` (with its u64
/// field) from the start, so it is 8-byte aligned.
#[repr(C, align(8))]
struct Buffer([u8; BUFFER_LEN]);

/// `_IOWR(DM_IOCTL, n, struct dm_ioctl)`: the size in the number is the
/// header's, though the buffer passed is longer (its `data_size` says so).
const fn number(command: u8) -> Opcode {
    opcode::from_components(Direction::ReadWrite, DM_IOCTL, command, IOCTL_LEN)
}
const CREATE: Opcode = number(Command::DevCreate as u8);
const SUSPEND: Opcode = number(Command::DevSuspend as u8);
const LOAD: Opcode = number(Command::TableLoad as u8);

fn call(control: &rustix::fd::OwnedFd, command: Command, buf: &mut Buffer) -> io::Result<()> {
    let result = match command {
        // SAFETY: `buf` is a `struct dm_ioctl` (IOCTL_LEN bytes, version 4)
        // followed by its data, BUFFER_LEN bytes in all as its data_size
        // says, aligned for its u64; the kernel reads and writes within
        // data_size only, and `buf` outlives the call.
        Command::DevCreate => unsafe {
            rustix::ioctl::ioctl(control, Updater::<CREATE, Buffer>::new(buf))
        },
        // SAFETY: as above.
        Command::DevSuspend => unsafe {
            rustix::ioctl::ioctl(control, Updater::<SUSPEND, Buffer>::new(buf))
        },
        // SAFETY: as above; the target spec and its NUL-terminated
        // parameters lie inside the buffer (dm::encode checks).
        Command::TableLoad => unsafe {
            rustix::ioctl::ioctl(control, Updater::<LOAD, Buffer>::new(buf))
        },
    };
    result.map_err(|e| {
        let e = io::Error::from(e);
        io::Error::new(e.kind(), format!("{} failed: {e}", command.name()))
    })
}

fn encoded(
    command: Command,
    name: &str,
    flags: u32,
    target: Option<&Target>,
) -> io::Result<Buffer> {
    dm::encode(command, name, flags, target)
        .map(Buffer)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// Creates `name`, loads `target` read-only and resumes it; returns the
/// device's minor number.
pub fn create(name: &str, target: &Target) -> io::Result<u32> {
    let control = rustix::fs::open(CONTROL, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("cannot open {CONTROL}: {e} (is dm-mod loaded?)"),
            )
        })?;
    let mut buf = encoded(Command::DevCreate, name, 0, None)?;
    call(&control, Command::DevCreate, &mut buf)?;
    let minor = dm::minor(dm::dev(&buf.0));
    let mut buf = encoded(Command::TableLoad, name, READONLY, Some(target))?;
    call(&control, Command::TableLoad, &mut buf)?;
    let mut buf = encoded(Command::DevSuspend, name, 0, None)?;
    call(&control, Command::DevSuspend, &mut buf)?;
    Ok(minor)
}
