//! Booting a Raspberry Pi card (`-f rpi`) on QEMU's `raspi3b` or `raspi4b`
//! machine. QEMU does not run the VideoCore firmware, so what the
//! firmware would load is read out of the card's FAT boot partition (the
//! kernel, the initramfs, cmdline.txt and the board's device tree) and
//! handed to QEMU directly; the card itself is the SD card, so the init
//! finds and verifies its root exactly as on the board.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use cairn_boot::{fat, mbr};

use super::RunError;
use super::qemu::Accel;
use crate::output::rpi::{CMDLINE, INITRD, KERNEL};

/// The largest boot file read out of a card (a kernel, an initramfs).
const MAX_FILE: u64 = 512 << 20;

/// A QEMU model of a board, and the device tree it boots with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    pub machine: &'static str,
    pub device_tree: &'static str,
    /// The memory the model has; QEMU accepts no other size.
    pub mem_mib: u32,
}

/// Pi 3 first: QEMU 7.2 (Debian 12) has it; `raspi4b` came in QEMU 9.0.
pub const MODELS: [Model; 2] = [
    Model {
        machine: "raspi3b",
        device_tree: "bcm2837-rpi-3-b.dtb",
        mem_mib: 1024,
    },
    Model {
        machine: "raspi4b",
        device_tree: "bcm2711-rpi-4-b.dtb",
        mem_mib: 2048,
    },
];

/// A card prepared for QEMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub model: Model,
    pub kernel: PathBuf,
    pub device_tree: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    /// The card, or a copy grown to a power of two, as QEMU's SD card model
    /// requires (a real card is larger than the image too); attached with
    /// snapshot=on, so a boot never changes it.
    pub sd: PathBuf,
}

/// Whether the start of a file is a card: an MBR (not a GPT's protective
/// one) whose first partition is FAT.
pub fn is_card(head: &[u8]) -> bool {
    mbr::parse(head).is_ok_and(|t| t.boot_fat().is_some())
}

fn bad_card(path: &Path, why: impl Into<String>) -> RunError {
    RunError::BadCard {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Reads the boot files out of the card at `path` into `work` and copies
/// the card there; `machines` are the raspi models this QEMU has.
pub fn prepare(
    path: &Path,
    machines: &[&str],
    dtb: Option<&Path>,
    work: &Path,
) -> Result<Card, RunError> {
    let unreadable = |source| RunError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let mut sector = [0u8; 512];
    file.read_exact(&mut sector).map_err(unreadable)?;
    let table = mbr::parse(&sector).map_err(|e| bad_card(path, e.to_string()))?;
    let boot =
        (table.boot_fat()).ok_or_else(|| bad_card(path, "its MBR has no FAT partition 1"))?;
    let mut part = Partition {
        file: &mut file,
        start: boot.offset(),
        len: boot.bytes(),
        at: 0,
    };
    let mut read = |name: &str| {
        fat::read_file(&mut part, name)
            .map_err(|e| bad_card(path, format!("its boot partition: {e}")))
            .and_then(|bytes| {
                if bytes.len() as u64 > MAX_FILE {
                    Err(bad_card(path, format!("{name} is larger than 512 MiB")))
                } else {
                    Ok(bytes)
                }
            })
    };
    if let Some(dtb) = dtb {
        return prepare_with(path, dtb, machines, work, &mut read);
    }
    let model = MODELS
        .iter()
        .filter(|m| machines.contains(&m.machine))
        .find(|m| read(m.device_tree).is_ok())
        .copied()
        .ok_or_else(|| {
            bad_card(
                path,
                format!(
                    "it holds no device tree for a board this QEMU models ({}); a Pi 4 card \
                     needs QEMU 9.0 or later for raspi4b (Debian: qemu-system-arm from \
                     bookworm-backports)",
                    machines.join(", ")
                ),
            )
        })?;
    let device_tree = write_out(work, model.device_tree, read(model.device_tree)?)?;
    finish(path, model, device_tree, work, &mut read)
}

/// A card booted with the device tree `dtb` from outside it, on the model
/// that tree's file name names (raspi3b when it names none).
fn prepare_with(
    path: &Path,
    dtb: &Path,
    machines: &[&str],
    work: &Path,
    read: &mut impl FnMut(&str) -> Result<Vec<u8>, RunError>,
) -> Result<Card, RunError> {
    let name = dtb.file_name().map(|n| n.to_string_lossy().into_owned());
    let model = (MODELS.iter())
        .find(|m| name.as_deref() == Some(m.device_tree))
        .copied()
        .unwrap_or(MODELS[0]);
    if !machines.contains(&model.machine) {
        return Err(bad_card(
            path,
            format!(
                "this QEMU has no {} machine for {}",
                model.machine,
                dtb.display()
            ),
        ));
    }
    let bytes = std::fs::read(dtb).map_err(|source| RunError::Missing {
        path: dtb.to_path_buf(),
        source,
    })?;
    let device_tree = write_out(work, "board.dtb", bytes)?;
    finish(path, model, device_tree, work, read)
}

fn write_out(work: &Path, name: &str, bytes: Vec<u8>) -> Result<PathBuf, RunError> {
    let to = work.join(name);
    std::fs::write(&to, bytes).map_err(|source| RunError::WorkDir {
        path: to.clone(),
        source,
    })?;
    Ok(to)
}

/// The kernel, initramfs and command line out of the card, and the card
/// copied as the SD card.
fn finish(
    path: &Path,
    model: Model,
    device_tree: PathBuf,
    work: &Path,
    read: &mut impl FnMut(&str) -> Result<Vec<u8>, RunError>,
) -> Result<Card, RunError> {
    let cmdline = String::from_utf8_lossy(&read(CMDLINE)?).trim().to_string();
    let kernel = write_out(work, KERNEL, read(KERNEL)?)?;
    let initrd = write_out(work, INITRD, read(INITRD)?)?;
    let len = std::fs::metadata(path)
        .map_err(|source| RunError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    // A card already the size of a real one (a flashed 32 GB image) is used
    // as it is, under snapshot=on; only an image file is copied and grown.
    let sd = if len.is_power_of_two() {
        path.to_path_buf()
    } else {
        let sd = work.join("sd.img");
        let work_err = |source| RunError::WorkDir {
            path: sd.clone(),
            source,
        };
        std::fs::copy(path, &sd).map_err(work_err)?;
        File::options()
            .write(true)
            .open(&sd)
            .and_then(|f| f.set_len(len.next_power_of_two()))
            .map_err(work_err)?;
        sd
    };
    Ok(Card {
        model,
        kernel,
        device_tree,
        initrd,
        cmdline,
        sd,
    })
}

/// The raspi machines this machine's QEMU has.
pub fn available_machines() -> Result<Vec<&'static str>, RunError> {
    let (program, package) = super::qemu::program(crate::arch::Arch::Arm64);
    let out = std::process::Command::new(program)
        .args(["-machine", "help"])
        .output()
        .map_err(|source| RunError::NoQemu {
            program: program.into(),
            package,
            source,
        })?;
    Ok(machines(&String::from_utf8_lossy(&out.stdout)))
}

/// The raspi machines `qemu-system-aarch64 -machine help` lists.
pub fn machines(help: &str) -> Vec<&'static str> {
    (MODELS.iter())
        .map(|m| m.machine)
        .filter(|m| help.lines().any(|l| l.split_whitespace().next() == Some(m)))
        .collect()
}

/// QEMU's arguments for `card`, program first. The board has no PCI bus
/// and no TPM: no virtio disks or network. The console goes to the UART the
/// command line names: the PL011 (`ttyAMA0`) is QEMU's first serial port,
/// the mini UART (`ttyS1`, the GPIO header's console on real boards) its
/// second.
pub fn args(card: &Card, accel: Accel) -> Vec<String> {
    let _ = accel; // TCG only: there is no KVM for these machine models.
    let console = (card.cmdline.split_whitespace())
        .filter_map(|w| w.strip_prefix("console="))
        .next_back()
        .unwrap_or("ttyAMA0");
    let serial: &[&str] = if console.starts_with("ttyS") {
        &["-serial", "null", "-serial", "mon:stdio"]
    } else {
        &["-serial", "mon:stdio"]
    };
    let mut a: Vec<String> = [
        "qemu-system-aarch64",
        "-machine",
        card.model.machine,
        // One thread: multi-threaded TCG on these models is slower and
        // its boot time swings widely.
        "-accel",
        "tcg,thread=single",
        "-m",
        &card.model.mem_mib.to_string(),
        "-nographic",
        "-no-reboot",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(serial.iter().map(|s| s.to_string()));
    for (flag, value) in [
        ("-kernel", card.kernel.display().to_string()),
        ("-dtb", card.device_tree.display().to_string()),
        ("-initrd", card.initrd.display().to_string()),
        (
            "-append",
            super::qemu::effective_cmdline(&card.cmdline, crate::arch::Arch::Arm64),
        ),
        (
            "-drive",
            format!(
                "if=sd,format=raw,snapshot=on,file={}",
                card.sd.display().to_string().replace(',', ",,")
            ),
        ),
    ] {
        a.push(flag.into());
        a.push(value);
    }
    a
}

/// A partition of a card as a file of its own, for the FAT reader.
struct Partition<'a> {
    file: &'a mut File,
    start: u64,
    len: u64,
    at: u64,
}

impl Read for Partition<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.at);
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        self.file.seek(SeekFrom::Start(self.start + self.at))?;
        let got = self.file.read(&mut buf[..n])?;
        self.at += got as u64;
        Ok(got)
    }
}

impl Seek for Partition<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let to = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.at.checked_add_signed(d),
        };
        self.at = to.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_decides_which_serial_port_is_this_terminal() {
        let card = |cmdline: &str| Card {
            model: MODELS[0],
            kernel: "k".into(),
            device_tree: "d".into(),
            initrd: "i".into(),
            cmdline: cmdline.into(),
            sd: "sd,1.img".into(),
        };
        let a = args(&card("console=ttyS1,115200 cairn.root=x"), Accel::Tcg).join(" ");
        assert!(a.contains("-serial null -serial mon:stdio"), "{a}");
        assert!(a.contains("-machine raspi3b"), "{a}");
        assert!(a.contains("file=sd,,1.img"), "{a}");
        let a = args(&card("console=ttyAMA0"), Accel::Tcg).join(" ");
        assert!(!a.contains("-serial null"), "{a}");
    }

    #[test]
    fn only_the_raspi_models_this_qemu_lists_are_used() {
        let help = "Supported machines are:\nraspi3b              Raspberry Pi 3B (revision 1.2)\nvirt                 QEMU 7.2 ARM Virtual Machine\n";
        assert_eq!(machines(help), vec!["raspi3b"]);
    }

    #[test]
    fn a_gpt_disk_is_not_a_card_and_an_mbr_with_fat_is() {
        let entry = |kind| mbr::Entry {
            number: 1,
            kind,
            bootable: true,
            first_lba: 2048,
            sectors: 2048,
        };
        let card = mbr::table_sector(7, &[entry(mbr::FAT32_LBA)]).unwrap();
        assert!(is_card(&card));
        let protective = mbr::table_sector(0, &[entry(mbr::PROTECTIVE)]).unwrap();
        assert!(!is_card(&protective));
        assert!(!is_card(&[0u8; 512]));
    }
}
