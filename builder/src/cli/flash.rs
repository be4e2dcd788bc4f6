//! `cairn flash IMAGE DEVICE`: the checks, the question, the write and the
//! verify are `flash`'s; this only wires the arguments to them.

use std::path::PathBuf;

use clap::Args;

use super::GlobalArgs;
use crate::flash::{self, Host, Request};
use crate::ui;

/// Write a raw disk image to an SD card, USB stick or disk, and verify it
///
/// IMAGE is a raw disk that `cairn build` wrote: NAME-efi.raw (UEFI),
/// NAME-bios.raw (PC BIOS) or NAME-rpi3.img / NAME-rpi4.img (a Raspberry
/// Pi card, MBR). A qcow2 image or a file without a boot signature is
/// refused. DEVICE is the whole device, e.g. /dev/sdb or /dev/mmcblk0
/// (`lsblk` lists them).
///
/// Checked before a single byte is written, each refusal saying what to do:
///   - DEVICE is a block device (anything else only with --force);
///   - none of its partitions (nor the device) is mounted, used as swap or
///     held by device-mapper (LVM, LUKS);
///   - it is not the disk that holds the running system's root;
///   - it is at least as large as IMAGE.
///
/// Then cairn shows the device's model, size and serial and asks you to
/// type `yes` (--yes skips this; without a terminal and without --yes it
/// refuses). It writes in an order that never leaves a good-looking disk
/// behind when stopped: the first and the last MiB of DEVICE are zeroed
/// (old partition tables, a backup GPT), then the image after its first MiB
/// is written, then its first MiB (the partition table) last, each phase
/// flushed to the device. Ctrl-C stops between 4 MiB chunks. Last, every
/// byte is read back past the page cache (O_DIRECT) and compared with
/// IMAGE; the sha256 both share is printed.
///
/// Exit status: 0 written and verified; 1 refused, not confirmed,
/// interrupted, out of space or a mismatch; 2 an I/O error of the host or
/// the device.
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
#[command(after_help = "Examples:\n  \
    lsblk -o NAME,SIZE,MODEL,SERIAL,TRAN             find the card or stick\n  \
    cairn flash --dry-run minimal-rpi4.img /dev/mmcblk0  the checks and the writes, nothing written\n  \
    sudo cairn flash minimal-rpi4.img /dev/mmcblk0    a Raspberry Pi 4 card\n  \
    sudo cairn flash minimal-efi.raw /dev/sdb         a USB stick for a UEFI machine\n  \
    cairn flash --force --yes minimal-efi.raw copy.raw  into a regular file (tests)")]
pub struct FlashArgs {
    /// The raw disk image: NAME-efi.raw, NAME-bios.raw, NAME-rpi4.img.
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    /// The whole device to overwrite, e.g. /dev/sdb or /dev/mmcblk0.
    #[arg(value_name = "DEVICE")]
    pub device: PathBuf,
    /// Do not ask; for scripts. Every other check still applies.
    #[arg(short, long)]
    pub yes: bool,
    /// Print the checks and every write in order, with the image's sha256;
    /// write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accept a DEVICE that is not a block device: a regular file (created
    /// or extended, never truncated) or a character device. The mount,
    /// root and size checks of block devices still apply.
    #[arg(long)]
    pub force: bool,
}

pub fn run(global: &GlobalArgs, args: FlashArgs) -> anyhow::Result<()> {
    let _ = global;
    let request = Request {
        image: args.image,
        target: args.device,
        force: args.force,
    };
    let plan = flash::prepare(&request, &Host::system())?;
    if args.dry_run {
        println!("{}", plan.dry_run()?);
        return Ok(());
    }
    plan.confirm(args.yes)?;
    let target = plan.target().path.clone();
    let done = plan.run()?;
    println!(
        "verified {}: {} bytes, sha256 {}",
        target.display(),
        done.bytes,
        done.sha256
    );
    ui::status(format!(
        "{} is written and flushed; it is safe to remove",
        target.display()
    ));
    Ok(())
}
