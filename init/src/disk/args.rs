//! The kernel command line words of a disk boot (`cairn.root=`,
//! `roothash=`, `cairn.verity=`), the contract with the image builder.

use cairn_boot::mbr::PartUuid;

use crate::disk::gpt_scan::Guid;
use crate::sys::Target;

/// dm-verity data and hash block size: the builder writes 4096 for both.
pub const BLOCK: u64 = 4096;

/// Where the verified root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootAt {
    /// The GPT partition with this unique GUID (`cairn.root=PARTUUID=...`).
    Partuuid(Guid),
    /// The MBR partition with this PARTUUID (`cairn.root=PARTUUID=SSSSSSSS-PP`,
    /// the disk signature and the partition number): a Raspberry Pi card.
    Mbr(PartUuid),
    /// The first whole disk that starts with a squashfs
    /// (`cairn.root=disk`): the kernel+squashfs format's image attached as
    /// a disk of its own.
    WholeDisk,
}

impl std::fmt::Display for RootAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootAt::Partuuid(g) => write!(f, "a GPT partition with PARTUUID {g}"),
            RootAt::Mbr(p) => write!(f, "an MBR partition with PARTUUID {p}"),
            RootAt::WholeDisk => f.write_str("a squashfs at its start"),
        }
    }
}

/// What a disk boot needs from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskArgs {
    /// Where the root image (squashfs, then its hash tree) is.
    pub root: RootAt,
    /// The dm-verity root hash, lowercase hex.
    pub roothash: String,
    /// 4096-byte blocks of the squashfs image the hash tree covers.
    pub data_blocks: u64,
    /// The 4096-byte block of the partition where the hash tree starts.
    pub hash_start: u64,
    /// The salt in lowercase hex, or `-` for none.
    pub salt: String,
}

/// A disk boot's command line word that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "kernel command line: {word}: {problem}; the image's command line must be the one cairn build wrote"
)]
pub struct ArgsError {
    pub word: String,
    pub problem: &'static str,
}

fn bad(word: &str, problem: &'static str) -> ArgsError {
    ArgsError {
        word: word.into(),
        problem,
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl DiskArgs {
    /// None when `cmdline` has no `cairn.root=` (a kernel+initrd boot).
    pub fn from_cmdline(cmdline: &str) -> Option<Result<DiskArgs, ArgsError>> {
        let value = |key: &str| {
            cmdline
                .split_ascii_whitespace()
                .filter_map(|w| w.strip_prefix(key))
                .next_back()
        };
        let root = value("cairn.root=")?;
        Some(Self::parse(
            root,
            value("roothash="),
            value("cairn.verity="),
        ))
    }

    fn parse(
        root: &str,
        roothash: Option<&str>,
        verity: Option<&str>,
    ) -> Result<DiskArgs, ArgsError> {
        let word = format!("cairn.root={root}");
        let root = if root == "disk" {
            RootAt::WholeDisk
        } else {
            let uuid = root.strip_prefix("PARTUUID=").ok_or_else(|| {
                bad(
                    &word,
                    "use PARTUUID=<GPT unique GUID or MBR SSSSSSSS-PP>, or disk for a whole disk",
                )
            })?;
            match (Guid::parse(uuid), PartUuid::parse(uuid)) {
                (Some(guid), _) => RootAt::Partuuid(guid),
                (None, Some(mbr)) => RootAt::Mbr(mbr),
                (None, None) => {
                    return Err(bad(
                        &word,
                        "the PARTUUID is neither a GUID nor an MBR SSSSSSSS-PP",
                    ));
                }
            }
        };
        let roothash = roothash.ok_or_else(|| bad("roothash=", "missing"))?;
        if roothash.len() != 64 || !is_hex(roothash) {
            return Err(bad(
                &format!("roothash={roothash}"),
                "not 64 hex digits (a SHA-256)",
            ));
        }
        let verity = verity.ok_or_else(|| bad("cairn.verity=", "missing"))?;
        let word = format!("cairn.verity={verity}");
        let fields: Vec<&str> = verity.split(',').collect();
        let [blocks, start, salt] = fields.as_slice() else {
            return Err(bad(
                &word,
                "not <data_blocks>,<hash_start_block>,<salt_hex>",
            ));
        };
        let number = |s: &str| s.parse::<u64>().ok().filter(|n| *n > 0);
        let data_blocks = number(blocks)
            .filter(|n| n.checked_mul(BLOCK).is_some())
            .ok_or_else(|| bad(&word, "data_blocks is not a positive number"))?;
        let hash_start = number(start)
            .filter(|n| *n >= data_blocks)
            .ok_or_else(|| bad(&word, "hash_start_block is not a number after the data"))?;
        if *salt != "-" && !is_hex(salt) {
            return Err(bad(&word, "the salt is not hex (or - for none)"));
        }
        Ok(DiskArgs {
            root,
            roothash: roothash.to_ascii_lowercase(),
            data_blocks,
            hash_start,
            salt: salt.to_ascii_lowercase(),
        })
    }

    /// Bytes the verity device maps: the squashfs image.
    pub fn data_bytes(&self) -> u64 {
        self.data_blocks * BLOCK
    }

    /// The dm-verity table over the partition `dev` (`major:minor`), data
    /// and hash tree on the same device, format version 1, SHA-256.
    pub fn verity_target(&self, dev: &str) -> Target {
        Target {
            sectors: self.data_blocks * (BLOCK / 512),
            kind: "verity".into(),
            params: format!(
                "1 {dev} {dev} {BLOCK} {BLOCK} {} {} sha256 {} {}",
                self.data_blocks, self.hash_start, self.roothash, self.salt
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "5c1e0f8a9b3d2c4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6";
    const UUID: &str = "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f61";

    fn line(verity: &str) -> String {
        format!(
            "console=ttyS0 cairn.root=PARTUUID={UUID} roothash={HASH} cairn.verity={verity} quiet"
        )
    }

    #[test]
    fn without_cairn_root_the_boot_is_not_a_disk_boot() {
        assert_eq!(DiskArgs::from_cmdline("console=ttyS0 roothash=ab"), None);
    }

    #[test]
    fn the_three_words_give_the_exact_verity_table() {
        let args = DiskArgs::from_cmdline(&line("10496,10497,00ff"))
            .expect("disk boot")
            .expect("valid");
        assert_eq!(
            args.root.to_string(),
            format!("a GPT partition with PARTUUID {UUID}")
        );
        assert_eq!(
            args.verity_target("254:2").to_string(),
            format!("0 83968 verity 1 254:2 254:2 4096 4096 10496 10497 sha256 {HASH} 00ff")
        );
        assert_eq!(args.data_bytes(), 10496 * 4096);
    }

    #[test]
    fn malformed_verity_words_are_refused_with_the_word_and_the_problem() {
        for (verity, problem) in [
            (
                "10496,10497",
                "not <data_blocks>,<hash_start_block>,<salt_hex>",
            ),
            ("x,10497,00", "data_blocks is not a positive number"),
            ("0,10497,00", "data_blocks is not a positive number"),
            (
                "10496,5,00",
                "hash_start_block is not a number after the data",
            ),
            ("10496,10497,0g", "the salt is not hex (or - for none)"),
        ] {
            let err = DiskArgs::from_cmdline(&line(verity))
                .expect("disk boot")
                .expect_err(verity);
            assert_eq!(err.problem, problem, "{verity}");
            assert!(err.to_string().contains(&format!("cairn.verity={verity}")));
        }
    }

    #[test]
    fn a_missing_roothash_or_a_bad_partuuid_is_refused() {
        let no_hash = format!("cairn.root=PARTUUID={UUID} cairn.verity=1,2,-");
        let err = DiskArgs::from_cmdline(&no_hash)
            .expect("disk")
            .expect_err("no hash");
        assert_eq!((err.word.as_str(), err.problem), ("roothash=", "missing"));
        let label = "cairn.root=LABEL=root roothash=00 cairn.verity=1,2,-";
        assert!(DiskArgs::from_cmdline(label).expect("disk").is_err());
        let short = format!("cairn.root=PARTUUID={UUID} roothash=abcd cairn.verity=1,2,-");
        assert!(DiskArgs::from_cmdline(&short).expect("disk").is_err());
    }

    #[test]
    fn an_mbr_partuuid_names_the_disk_signature_and_the_partition_number() {
        let word = format!("cairn.root=PARTUUID=0badcafe-02 roothash={HASH} cairn.verity=10,11,-");
        let args = DiskArgs::from_cmdline(&word).expect("disk").expect("valid");
        assert_eq!(
            args.root.to_string(),
            "an MBR partition with PARTUUID 0badcafe-02"
        );
        let five = format!("cairn.root=PARTUUID=0badcafe-05 roothash={HASH} cairn.verity=10,11,-");
        assert!(DiskArgs::from_cmdline(&five).expect("disk").is_err());
    }

    #[test]
    fn cairn_root_disk_means_a_whole_disk_holding_the_squashfs() {
        let word = format!("cairn.root=disk roothash={HASH} cairn.verity=10,11,-");
        let args = DiskArgs::from_cmdline(&word).expect("disk").expect("valid");
        assert_eq!(args.root, RootAt::WholeDisk);
    }
}
