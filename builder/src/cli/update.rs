//! `cairn update UPDATE DISK`: the checks and the writes are `update`'s;
//! this only wires the arguments to them and reports.

use std::path::PathBuf;

use clap::Args;

use super::GlobalArgs;
use crate::update;

/// Put an update into the inactive root slot of a cairn disk, offline
///
/// UPDATE is the NAME.update.json that `cairn build -f update` wrote (the
/// root and the UKI lie beside it). DISK is a raw disk image that `cairn
/// build -f raw-efi` wrote, or a device holding one that is not running
/// (a disk taken out, an SD card in a reader).
///
/// Checked before anything is written, each refusal leaving DISK as it was:
///   - the update's root and UKI match the size and SHA-256 in its manifest;
///   - it is for the same system (the UKI's IMAGE_ID) and architecture;
///   - its version is newer than every version on the disk's ESP, so an
///     update can never take a device back to an older system;
///   - its UKI pins the root the manifest names, and the root fits the slot.
///
/// Then, in an order that leaves the disk bootable if it stops at any
/// point: the inactive slot's old UKI leaves the ESP; the root is written
/// to that slot and read back (SHA-256 and dm-verity root hash); the slot
/// gets the GUID the new UKI pins; the UKI goes to the ESP as
/// EFI/Linux/cairn-VERSION+3.efi. systemd-boot then tries the new version
/// up to three times; the init marks it good once every service stayed up
/// (`update.good_after`), else the running version boots again.
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
#[command(after_help = "Examples:\n  \
    cairn build -f update --image-version 2 system.yml     writes system.update.json, .root, .efi\n  \
    cairn update system.update.json system-efi.raw\n  \
    cairn update --dry-run system.update.json /dev/sdb")]
pub struct UpdateArgs {
    /// The update's manifest, NAME.update.json.
    #[arg(value_name = "UPDATE")]
    pub update: PathBuf,
    /// The disk image or device to update.
    #[arg(value_name = "DISK")]
    pub disk: PathBuf,
    /// How many times systemd-boot tries the new version before it boots
    /// the running one again.
    #[arg(long, default_value_t = update::DEFAULT_TRIES, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub tries: u32,
    /// Check everything and say what would be written; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(global: &GlobalArgs, args: UpdateArgs) -> anyhow::Result<()> {
    let _ = global;
    let plan = update::prepare(&args.update, &args.disk, args.tries)?;
    println!(
        "{}: running {} from slot {}; version {} goes to slot {} as EFI/Linux/{}",
        args.disk.display(),
        plan.running(),
        plan.active_slot(),
        plan.version(),
        plan.target_slot(),
        plan.uki_file()
    );
    for stale in plan.stale() {
        println!("removes EFI/Linux/{stale} (the slot's old or a spent UKI)");
    }
    if args.dry_run {
        return Ok(());
    }
    let done = plan.apply(&|_| {})?;
    println!(
        "updated slot {}: EFI/Linux/{} boots next, on trial",
        done.slot, done.uki
    );
    Ok(())
}
