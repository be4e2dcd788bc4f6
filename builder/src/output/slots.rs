//! Where a disk's root slots and data partition go, once root A is written:
//!
//! - root A (slot 2) holds the root; root B (slot 3, UEFI disks only) is the
//!   same size and empty, for the next update. Both get half as much again
//!   as the root needs, so a grown root still fits.
//! - data (slot 4) is last, so the init can grow it to the end of a larger
//!   device on first boot. It is empty in the image; the init formats it.
//!
//! Empty slots are holes in the image file (nothing is written there), so
//! they cost no disk space until the image is flashed.

use cairn_boot::gpt::{self, Guid, Partition};

use super::OutputError;
use crate::arch::Arch;

const MIB: u64 = 1 << 20;
const SECTOR: u64 = gpt::SECTOR;
/// The backup GPT's room at the end of the disk, kept aligned.
const TAIL: u64 = MIB;

/// The partition type of the data partition (Linux filesystem data).
pub const DATA_TYPE: Guid = gpt::LINUX_DATA;
/// Its GPT name, which the init looks for.
pub const DATA_NAME: &str = "data";

/// The sizes a user chose for a disk image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpec {
    /// The whole disk (`--disk-size`); the data partition takes what the
    /// ESP and the root slots leave. `None`: as small as the content allows.
    pub size: Option<u64>,
    /// The data partition when `size` is not given (`data.size`).
    pub data: u64,
}

impl Default for DiskSpec {
    fn default() -> Self {
        DiskSpec {
            size: None,
            data: crate::config::data::DEFAULT_SIZE,
        }
    }
}

/// The slots after the boot partition, and the disk's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slots {
    /// Root A, root B (UEFI only) and data, in slot order.
    pub parts: Vec<Partition>,
    pub disk_size: u64,
}

/// A root slot for a root image of `root_bytes`: half as much again.
pub fn slot_size(root_bytes: u64) -> u64 {
    (root_bytes + root_bytes / 2).div_ceil(MIB) * MIB
}

/// Lays out root A at `root_start` (holding `root_bytes`), root B when the
/// disk can switch slots (`ab`), and the data partition.
pub fn place(
    spec: &DiskSpec,
    ab: bool,
    arch: Arch,
    root_start: u64,
    root_bytes: u64,
    root_guid: Guid,
    root_hash: &[u8],
) -> Result<Slots, OutputError> {
    let slot = slot_size(root_bytes);
    let root_type = arch.root_type();
    let part =
        |slot_no: u32, type_guid, unique_guid, name: &str, start: u64, bytes: u64| Partition {
            slot: slot_no,
            type_guid,
            unique_guid,
            name: name.into(),
            first_lba: start / SECTOR,
            last_lba: (start + bytes) / SECTOR - 1,
            attrs: 0,
        };
    let mut parts = vec![part(2, root_type, root_guid, "root-a", root_start, slot)];
    let mut data_start = root_start + slot;
    if ab {
        let guid = gpt::guid_from(&[b"cairn empty root b", root_hash]);
        parts.push(part(3, root_type, guid, "root-b", data_start, slot));
        data_start += slot;
    }
    let min_data = crate::config::data::MIN_SIZE;
    let data = match spec.size {
        None => spec.data.max(min_data).div_ceil(MIB) * MIB,
        Some(size) => {
            let size = size / MIB * MIB;
            let need = data_start + min_data + TAIL;
            if size < need {
                return Err(OutputError::DiskTooSmall {
                    size,
                    need: need.div_ceil(MIB) * MIB,
                });
            }
            size - data_start - TAIL
        }
    };
    let guid = gpt::guid_from(&[b"cairn data partition", root_hash]);
    parts.push(part(4, DATA_TYPE, guid, DATA_NAME, data_start, data));
    Ok(Slots {
        parts,
        disk_size: data_start + data + TAIL,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: u64 = 40 * MIB + 12345;

    fn at(s: &Slots, slot: u32) -> &Partition {
        s.parts.iter().find(|p| p.slot == slot).expect("the slot")
    }

    #[test]
    fn a_uefi_disk_has_two_equal_root_slots_and_the_data_partition_last() {
        let spec = DiskSpec::default();
        let s = place(
            &spec,
            true,
            Arch::Amd64,
            32 * MIB,
            ROOT,
            Guid([1; 16]),
            b"h",
        )
        .unwrap();
        let (a, b, data) = (at(&s, 2), at(&s, 3), at(&s, 4));
        assert_eq!(a.last_lba - a.first_lba, b.last_lba - b.first_lba);
        assert!((a.last_lba - a.first_lba + 1) * SECTOR >= ROOT * 3 / 2);
        assert_eq!(b.first_lba, a.last_lba + 1);
        assert_eq!(data.first_lba, b.last_lba + 1);
        assert_eq!((data.last_lba + 1 - data.first_lba) * SECTOR, spec.data);
        assert_eq!(s.disk_size, (data.last_lba + 1) * SECTOR + MIB);
        assert_ne!(a.unique_guid, b.unique_guid);
    }

    #[test]
    fn a_disk_size_gives_the_rest_to_the_data_partition_and_too_small_a_size_is_refused() {
        let spec = DiskSpec {
            size: Some(1 << 30),
            data: 0,
        };
        let s = place(
            &spec,
            true,
            Arch::Arm64,
            32 * MIB,
            ROOT,
            Guid([1; 16]),
            b"h",
        )
        .unwrap();
        assert_eq!(s.disk_size, 1 << 30);
        let small = DiskSpec {
            size: Some(100 * MIB),
            data: 0,
        };
        let err = place(
            &small,
            true,
            Arch::Amd64,
            32 * MIB,
            ROOT,
            Guid([1; 16]),
            b"h",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at least"), "{err}");
    }

    #[test]
    fn a_bios_disk_has_no_second_root_slot() {
        let s = place(
            &DiskSpec::default(),
            false,
            Arch::Amd64,
            32 * MIB,
            ROOT,
            Guid([1; 16]),
            b"h",
        )
        .unwrap();
        let slots: Vec<u32> = s.parts.iter().map(|p| p.slot).collect();
        assert_eq!(slots, [2, 4]);
    }
}
