//! The device-mapper ioctl argument (`struct dm_ioctl` of the kernel's
//! include/uapi/linux/dm-ioctl.h, interface version 4) built in a byte
//! buffer, so that the layout is unit-tested on the host and the only
//! `unsafe` left is the ioctl call itself (`linux/dm.rs`).

pub use crate::sys::Target;

/// `sizeof(struct dm_ioctl)`; it is also the size the ioctl numbers encode.
pub const IOCTL_LEN: usize = 312;
/// `sizeof(struct dm_target_spec)`.
const SPEC_LEN: usize = 40;
/// Every argument fits this: one header and one target with its parameters.
pub const BUFFER_LEN: usize = 4096;
/// DM_NAME_LEN, with its NUL.
const NAME_LEN: usize = 128;
/// DM_MAX_TYPE_NAME, with its NUL.
const TYPE_LEN: usize = 16;

/// DM_READONLY_FLAG.
pub const READONLY: u32 = 1 << 0;

/// The commands used, by their number in the header's enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    DevCreate = 3,
    /// Without DM_SUSPEND_FLAG it resumes: the loaded table becomes live.
    DevSuspend = 6,
    TableLoad = 9,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::DevCreate => "DM_DEV_CREATE",
            Command::DevSuspend => "DM_DEV_SUSPEND (resume)",
            Command::TableLoad => "DM_TABLE_LOAD",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DmError {
    #[error(
        "device-mapper name {0:?} is empty, too long (127 bytes at most) or holds a NUL or '/'"
    )]
    Name(String),
    #[error("device-mapper target type {0:?} is too long (15 bytes at most)")]
    Kind(String),
    #[error("device-mapper table parameters are too long ({0} bytes) for one ioctl")]
    Params(usize),
}

/// The argument of `command` for the device `name`: a header, and for
/// [`Command::TableLoad`] the one target.
pub fn encode(
    command: Command,
    name: &str,
    flags: u32,
    target: Option<&Target>,
) -> Result<[u8; BUFFER_LEN], DmError> {
    if name.is_empty() || name.len() >= NAME_LEN || name.contains(['\0', '/']) {
        return Err(DmError::Name(name.into()));
    }
    let mut buf = [0u8; BUFFER_LEN];
    let put32 = |buf: &mut [u8; BUFFER_LEN], at: usize, v: u32| {
        buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    };
    // version 4.0.0: the kernel accepts any client of major 4 with a minor
    // not above its own.
    put32(&mut buf, 0, 4);
    put32(&mut buf, 12, BUFFER_LEN as u32);
    put32(&mut buf, 16, IOCTL_LEN as u32);
    put32(&mut buf, 28, flags);
    buf[48..48 + name.len()].copy_from_slice(name.as_bytes());
    if let Some(t) = target.filter(|_| command == Command::TableLoad) {
        if t.kind.len() >= TYPE_LEN || t.kind.contains('\0') {
            return Err(DmError::Kind(t.kind.clone()));
        }
        // Parameters, their NUL, then padding to 8 bytes for the next spec.
        let next = (SPEC_LEN + t.params.len() + 1).next_multiple_of(8);
        if IOCTL_LEN + next > BUFFER_LEN || t.params.contains('\0') {
            return Err(DmError::Params(t.params.len()));
        }
        put32(&mut buf, 20, 1);
        let s = IOCTL_LEN;
        buf[s..s + 8].copy_from_slice(&0u64.to_ne_bytes());
        buf[s + 8..s + 16].copy_from_slice(&t.sectors.to_ne_bytes());
        put32(&mut buf, s + 20, next as u32);
        buf[s + 24..s + 24 + t.kind.len()].copy_from_slice(t.kind.as_bytes());
        let p = s + SPEC_LEN;
        buf[p..p + t.params.len()].copy_from_slice(t.params.as_bytes());
    }
    Ok(buf)
}

/// The device number the kernel wrote back, in its "huge" encoding.
pub fn dev(buf: &[u8; BUFFER_LEN]) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&buf[40..48]);
    u64::from_ne_bytes(v)
}

/// The minor number of a device number in the kernel's huge encoding
/// (minor bits 0-7 low, the rest from bit 20); `/dev/dm-N` is named by it.
pub fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & 0x000f_ff00)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn create_names_the_device_with_interface_version_4_and_no_target() {
        let buf = encode(Command::DevCreate, "cairn-root", 0, None).expect("encode");
        assert_eq!(u32_at(&buf, 0), 4);
        assert_eq!(u32_at(&buf, 12), BUFFER_LEN as u32);
        assert_eq!(u32_at(&buf, 16), 312);
        assert_eq!(u32_at(&buf, 20), 0);
        assert_eq!(&buf[48..59], b"cairn-root\0");
    }

    #[test]
    fn table_load_carries_one_spec_after_the_header_with_its_parameters() {
        let target = Target {
            sectors: 16,
            kind: "verity".into(),
            params: "1 254:2 254:2 4096 4096 2 3 sha256 aa bb".into(),
        };
        let buf =
            encode(Command::TableLoad, "cairn-root", READONLY, Some(&target)).expect("encode");
        assert_eq!(u32_at(&buf, 20), 1, "target_count");
        assert_eq!(u32_at(&buf, 28), READONLY);
        assert_eq!(&buf[312..320], &0u64.to_ne_bytes());
        assert_eq!(&buf[320..328], &16u64.to_ne_bytes());
        let next = u32_at(&buf, 332) as usize;
        assert_eq!(next % 8, 0);
        assert!(next > 40 + target.params.len());
        assert_eq!(&buf[336..343], b"verity\0");
        let params = &buf[352..352 + target.params.len() + 1];
        assert_eq!(params, b"1 254:2 254:2 4096 4096 2 3 sha256 aa bb\0");
    }

    #[test]
    fn names_and_parameters_that_do_not_fit_are_refused() {
        let long = "x".repeat(128);
        assert_eq!(
            encode(Command::DevCreate, &long, 0, None),
            Err(DmError::Name(long.clone()))
        );
        assert!(encode(Command::DevCreate, "a/b", 0, None).is_err());
        let target = Target {
            sectors: 8,
            kind: "verity".into(),
            params: "p".repeat(BUFFER_LEN),
        };
        assert_eq!(
            encode(Command::TableLoad, "cairn-root", 0, Some(&target)),
            Err(DmError::Params(BUFFER_LEN))
        );
    }

    #[test]
    fn minor_numbers_are_decoded_from_the_huge_device_encoding() {
        // major 254, minor 0 and minor 300 (0x12c).
        assert_eq!(minor(254 << 8), 0);
        let dev = (0x2c) | (254 << 8) | (0x100 << 12);
        assert_eq!(minor(dev), 300);
    }

    #[test]
    fn the_table_line_reads_as_dmsetup_prints_it() {
        let t = Target {
            sectors: 80,
            kind: "verity".into(),
            params: "1 a b".into(),
        };
        assert_eq!(t.to_string(), "0 80 verity 1 a b");
    }
}
