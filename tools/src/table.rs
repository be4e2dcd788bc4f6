//! One partition over a whole disk, as LinuxKit's format package makes it:
//! an MBR (`dos`, type 0x83) or a GPT (Linux file system type), starting
//! at 1 MiB. The tables are built in memory here and written by the caller;
//! `unique` supplies the disk and partition identifiers (random on a
//! device, fixed in tests).

/// 512-byte sectors; what every disk this runs on reports.
pub const SECTOR: u64 = 512;
/// Where the partition starts: 1 MiB, aligned for every common device.
pub const FIRST: u64 = 2048;
/// GPT entries: 128 of 128 bytes, 32 sectors.
const ENTRIES: u64 = 128;
const ENTRY_LEN: u64 = 128;
const ENTRY_SECTORS: u64 = ENTRIES * ENTRY_LEN / SECTOR;
/// The Linux file system data partition type.
const LINUX_FS: &str = "0fc63daf-8483-4772-8e79-3d69d8477de4";

/// Bytes to write at an offset of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub offset: u64,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dos,
    Gpt,
}

/// The writes that give a disk of `sectors` one partition from [`FIRST`]
/// to its end (GPT: to the last usable sector), or an error when the disk
/// is too small.
pub fn one_partition(kind: Kind, sectors: u64, unique: [u8; 36]) -> Result<Vec<Write>, String> {
    let min = FIRST + 2048 + if kind == Kind::Gpt { 33 } else { 0 };
    if sectors < min {
        return Err(format!(
            "the disk has {} KiB; at least {} KiB are needed for a partition",
            sectors * SECTOR / 1024,
            min * SECTOR / 1024
        ));
    }
    Ok(match kind {
        Kind::Dos => {
            let count = (sectors - FIRST).min(u64::from(u32::MAX));
            let mut mbr = protective_or_dos(0x83, FIRST, count);
            mbr[440..444].copy_from_slice(&unique[..4]);
            vec![Write {
                offset: 0,
                bytes: mbr,
            }]
        }
        Kind::Gpt => gpt(sectors, unique),
    })
}

fn protective_or_dos(kind: u8, first: u64, count: u64) -> Vec<u8> {
    let mut mbr = vec![0u8; SECTOR as usize];
    let e = &mut mbr[446..462];
    // CHS fields say "use LBA", as every tool writes for large disks.
    e[1..4].copy_from_slice(&[0xfe, 0xff, 0xff]);
    e[4] = kind;
    e[5..8].copy_from_slice(&[0xfe, 0xff, 0xff]);
    e[8..12].copy_from_slice(&(first as u32).to_le_bytes());
    e[12..16].copy_from_slice(&(count.min(u64::from(u32::MAX)) as u32).to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    mbr
}

fn gpt(sectors: u64, unique: [u8; 36]) -> Vec<Write> {
    let last = sectors - 1;
    let last_usable = last - 1 - ENTRY_SECTORS;
    let mut entries = vec![0u8; (ENTRIES * ENTRY_LEN) as usize];
    entries[0..16].copy_from_slice(&guid_bytes(LINUX_FS));
    entries[16..32].copy_from_slice(&as_guid(&unique[20..36]));
    entries[32..40].copy_from_slice(&FIRST.to_le_bytes());
    entries[40..48].copy_from_slice(&last_usable.to_le_bytes());
    for (i, c) in "data".encode_utf16().enumerate() {
        entries[56 + 2 * i..58 + 2 * i].copy_from_slice(&c.to_le_bytes());
    }
    let entries_crc = crc32(&entries);
    let disk = as_guid(&unique[4..20]);
    let header = |mine: u64, other: u64, entries_at: u64| {
        let mut h = vec![0u8; SECTOR as usize];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&mine.to_le_bytes());
        h[32..40].copy_from_slice(&other.to_le_bytes());
        h[40..48].copy_from_slice(&(2 + ENTRY_SECTORS).to_le_bytes());
        h[48..56].copy_from_slice(&last_usable.to_le_bytes());
        h[56..72].copy_from_slice(&disk);
        h[72..80].copy_from_slice(&entries_at.to_le_bytes());
        h[80..84].copy_from_slice(&(ENTRIES as u32).to_le_bytes());
        h[84..88].copy_from_slice(&(ENTRY_LEN as u32).to_le_bytes());
        h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
        let crc = crc32(&h[..92]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    };
    let backup_entries = last - ENTRY_SECTORS;
    vec![
        Write {
            offset: 0,
            bytes: protective_or_dos(0xee, 1, sectors - 1),
        },
        Write {
            offset: SECTOR,
            bytes: header(1, last, 2),
        },
        Write {
            offset: 2 * SECTOR,
            bytes: entries.clone(),
        },
        Write {
            offset: backup_entries * SECTOR,
            bytes: entries,
        },
        Write {
            offset: last * SECTOR,
            bytes: header(last, 1, backup_entries),
        },
    ]
}

/// A GUID's on-disk bytes from its text form (first three fields little-endian).
fn guid_bytes(text: &str) -> [u8; 16] {
    let hex: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b'-')
        .collect::<Vec<u8>>()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
        .collect();
    let mut b = [0u8; 16];
    b.copy_from_slice(&hex[..16]);
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

/// 16 random bytes made a version 4 GUID.
fn as_guid(random: &[u8]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b.copy_from_slice(random);
    b[7] = (b[7] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}

/// CRC-32 (IEEE 802.3), as the GPT uses.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;
    use std::process::Command;

    use super::{FIRST, Kind, SECTOR, crc32, one_partition};

    fn disk(kind: Kind, mib: u64) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(mib << 20).unwrap();
        for w in one_partition(kind, (mib << 20) / SECTOR, [7u8; 36]).unwrap() {
            f.as_file().write_all_at(&w.bytes, w.offset).unwrap();
        }
        f
    }

    #[test]
    fn crc32_is_the_ieee_checksum() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn a_gpt_passes_sgdisk_verify_with_one_linux_partition_from_1_mib() {
        let f = disk(Kind::Gpt, 64);
        let out = Command::new("sgdisk")
            .arg("-v")
            .arg(f.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("No problems found"), "{text}");
        let out = Command::new("sgdisk")
            .arg("-i")
            .arg("1")
            .arg(f.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
            "{text}"
        );
        assert!(text.contains(&format!("First sector: {FIRST}")), "{text}");
    }

    #[test]
    fn a_dos_table_has_one_linux_partition_from_1_mib_to_the_end() {
        let f = disk(Kind::Dos, 16);
        let mbr = std::fs::read(f.path()).unwrap();
        assert_eq!(&mbr[510..512], &[0x55, 0xaa]);
        let e = &mbr[446..462];
        assert_eq!(e[4], 0x83);
        assert_eq!(u32::from_le_bytes(e[8..12].try_into().unwrap()), 2048);
        assert_eq!(
            u32::from_le_bytes(e[12..16].try_into().unwrap()),
            16 * 2048 - 2048
        );
        assert!(mbr[462..510].iter().all(|&b| b == 0), "one entry only");
    }

    #[test]
    fn a_disk_too_small_for_a_partition_is_refused() {
        assert!(
            one_partition(Kind::Gpt, 3000, [0; 36])
                .unwrap_err()
                .contains("at least")
        );
    }
}
