//! The CPU architectures cairn builds for: shared vocabulary of every stage
//! (packages, assembly, outputs, `run`), so it lives in a leaf module.

use serde::{Deserialize, Deserializer, de};

/// A CPU architecture cairn builds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Arch {
    #[value(alias = "x86_64")]
    Amd64,
    #[value(alias = "aarch64")]
    Arm64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::Amd64, Arch::Arm64];

    /// The architecture of the machine cairn runs on.
    pub fn host() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else {
            Arch::Amd64
        }
    }

    /// Debian's and OCI's name.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The name OCI image indexes use (the same as Debian's).
    pub fn oci_name(self) -> &'static str {
        self.name()
    }

    /// The Rust target for crates: static musl binaries.
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-unknown-linux-musl",
            Arch::Arm64 => "aarch64-unknown-linux-musl",
        }
    }

    /// The GPT type of this architecture's root partition (Discoverable
    /// Partitions Specification), which a disk's root slots carry.
    pub fn root_type(self) -> cairn_boot::gpt::Guid {
        match self {
            Arch::Amd64 => cairn_boot::gpt::ROOT_X86_64,
            Arch::Arm64 => cairn_boot::gpt::ROOT_ARM64,
        }
    }

    /// The architecture whose root partition type is `guid`.
    pub fn from_root_type(guid: cairn_boot::gpt::Guid) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.root_type() == guid)
    }

    /// The multiarch folder name Debian puts libraries under.
    pub fn triplet(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-linux-gnu",
            Arch::Arm64 => "aarch64-linux-gnu",
        }
    }
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Arch, String> {
        match s {
            "amd64" | "x86_64" => Ok(Arch::Amd64),
            "arm64" | "aarch64" => Ok(Arch::Arm64),
            _ => Err(format!("unknown architecture {s:?}; use amd64 or arm64")),
        }
    }
}

impl<'de> Deserialize<'de> for Arch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Arch, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// A Raspberry Pi board family cairn writes SD-card images for (`-f rpi`,
/// `rpi.board`): shared by the config, assembly and the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Board {
    /// Raspberry Pi 3 B, 3 B+ and 3 A+ (BCM2837).
    Rpi3,
    /// Raspberry Pi 4 B and 400 (BCM2711).
    Rpi4,
}

impl Board {
    pub const ALL: [Board; 2] = [Board::Rpi3, Board::Rpi4];

    pub fn name(self) -> &'static str {
        match self {
            Board::Rpi3 => "rpi3",
            Board::Rpi4 => "rpi4",
        }
    }

    /// The device trees the card carries, as Debian's arm64 kernel ships
    /// them (under `dtbs/` of the kernel image, mainline names). The first
    /// is the board's own and must be there; the firmware picks the one
    /// for the board it runs on (`upstream_kernel=1`).
    pub fn device_trees(self) -> &'static [&'static str] {
        match self {
            Board::Rpi3 => &[
                "broadcom/bcm2837-rpi-3-b.dtb",
                "broadcom/bcm2837-rpi-3-b-plus.dtb",
                "broadcom/bcm2837-rpi-3-a-plus.dtb",
            ],
            Board::Rpi4 => &[
                "broadcom/bcm2711-rpi-4-b.dtb",
                "broadcom/bcm2711-rpi-400.dtb",
            ],
        }
    }

    /// The VideoCore firmware files the board's boot ROM and GPU load, as
    /// Debian's raspi-firmware names them.
    pub fn firmware(self) -> &'static [&'static str] {
        match self {
            Board::Rpi3 => &["bootcode.bin", "start.elf", "fixup.dat"],
            Board::Rpi4 => &["start4.elf", "fixup4.dat"],
        }
    }

    /// Kernel modules the board needs before its root or for its console
    /// and network: the SD host controllers, the watchdog (which also
    /// powers the board off) and the Ethernet. Loaded when the kernel has
    /// them as modules; built-in ones need nothing.
    pub fn modules(self) -> &'static [&'static str] {
        match self {
            Board::Rpi3 => &[
                "sdhci-iproc",
                "bcm2835",
                "bcm2835_wdt",
                "dwc2",
                "smsc95xx",
                "lan78xx",
            ],
            Board::Rpi4 => &["sdhci-iproc", "bcm2835_wdt", "genet"],
        }
    }
}

impl std::str::FromStr for Board {
    type Err = String;
    fn from_str(s: &str) -> Result<Board, String> {
        Board::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown board {s:?}; use rpi3 or rpi4"))
    }
}
