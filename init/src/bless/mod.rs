//! Boot blessing for A/B updates with systemd-boot's boot counting. An
//! update writes its UKI as `EFI/Linux/cairn-VERSION+3.efi`; systemd-boot
//! counts a try down in the name before each boot of it (`+2-1`, `+1-2`,
//! `+0-3`) and sorts an entry with no tries left last, so the older good
//! entry boots again: the rollback. This boot is kept when every service
//! stayed up for `good_after_secs`: the counter is removed from the
//! file's name (`cairn-2.efi`), and systemd-boot stops counting.
//!
//! Nothing here stops the boot or a service: a failure is one console line
//! and, in [`STATUS`], the reason, and systemd-boot goes on counting. A
//! boot without a counter (an entry blessed before, a BIOS or Pi boot, a
//! UKI the firmware started itself) blesses nothing.

use std::io;
use std::time::Duration;

use rustix::mount::MountFlags;
use serde::Serialize;

pub mod efivar;
pub mod esp;

use crate::log::log;
use crate::mounts::mount_one;
use crate::sys::{Console, Files, Mount};
use efivar::{BOOT_COUNT_PATH, EFI_DIR, EFIVARS, ENTRY_SELECTED, EntryName, UKI_DIR};
use esp::Blessed;

/// What the loader booted and whether it was blessed, for containers.
pub const STATUS: &str = "/run/cairn/boot.json";

/// Mounts efivarfs on a UEFI boot, so the loader's variables can be read;
/// without it boot blessing is off (said once), and the boot goes on.
pub fn mount_efivars(sys: &mut (impl Files + Console)) {
    if !sys.exists(EFI_DIR) || efivars_mounted(sys) {
        return;
    }
    let m = Mount {
        source: "efivarfs",
        target: EFIVARS,
        fstype: "efivarfs",
        flags: MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        data: "",
        required: false,
    };
    if let Err(e) = mount_one(sys, &m) {
        log(
            sys,
            &format!(
                "warning: {e}; boot blessing is off (the kernel's efivarfs module may be \
                 missing from the image)"
            ),
        );
    }
}

/// efivarfs is one filesystem for the whole system: a second mount on the
/// same directory would only stack on the first.
fn efivars_mounted(sys: &mut impl Files) -> bool {
    sys.read_file("/proc/self/mounts")
        .is_ok_and(|mounts| mounts.lines().any(|l| l.split(' ').nth(1) == Some(EFIVARS)))
}

/// The entry the loader counts and whether it was blessed yet.
#[derive(Debug)]
pub struct Blessing {
    good_after: Duration,
    /// The counted entry, until it was blessed or that failed: at most
    /// once per boot.
    waiting: Option<EntryName>,
}

/// [`STATUS`], as written.
#[derive(Debug, Serialize)]
struct BootStatus<'a> {
    /// The entry's stem (`cairn-2`), when the loader named one.
    entry: Option<&'a str>,
    counted: bool,
    /// Only for a counted entry: false until it is blessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    blessed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Blessing {
    /// Reads what the loader booted, once the services started, and writes
    /// the first [`STATUS`].
    pub fn start(sys: &mut (impl Files + Console), good_after: Duration) -> Blessing {
        let mut blessing = Blessing {
            good_after,
            waiting: None,
        };
        let count_path = if sys.exists(EFI_DIR) {
            loader_var(sys, BOOT_COUNT_PATH)
        } else {
            None
        };
        let Some(count_path) = count_path else {
            let selected = selected_entry(sys);
            write_status(sys, &uncounted(selected.as_deref()));
            return blessing;
        };
        match efivar::counted_uki(&count_path) {
            Ok(entry) => {
                log(
                    sys,
                    &format!(
                        "boot: {} is on trial (systemd-boot counts its tries); it is marked \
                         good once every service stayed up for {} s",
                        entry.stem,
                        good_after.as_secs()
                    ),
                );
                write_status(sys, &counted(&entry.stem, false, None));
                blessing.waiting = Some(entry);
            }
            Err(e) => {
                log(
                    sys,
                    &format!("boot: {BOOT_COUNT_PATH} {e}; nothing is blessed"),
                );
                let selected = selected_entry(sys);
                let status = BootStatus {
                    entry: selected.as_deref(),
                    counted: true,
                    blessed: Some(false),
                    error: Some(e.to_string()),
                };
                write_status(sys, &status);
            }
        }
        blessing
    }

    /// Blesses the counted entry once every service has been up since
    /// `up_since` for `good_after`; called on every turn of the supervisor.
    pub fn check(&mut self, sys: &mut (impl Files + Console), up_since: Option<Duration>) {
        let (Some(since), Some(_)) = (up_since, &self.waiting) else {
            return;
        };
        let up = sys.uptime().saturating_sub(since);
        if up < self.good_after {
            return;
        }
        let Some(entry) = self.waiting.take() else {
            return;
        };
        let stem = entry.stem.as_str();
        let good = format!("boot: {stem} is good (services up for {} s)", up.as_secs());
        let status = match esp::bless(sys, &entry) {
            Ok(Blessed::Renamed { from }) => {
                let to = entry.blessed();
                log(sys, &format!("{good}: {UKI_DIR}/{from} -> {to}"));
                counted(stem, true, None)
            }
            Ok(Blessed::Before) => {
                let to = entry.blessed();
                log(sys, &format!("{good}: {UKI_DIR}/{to} was blessed before"));
                counted(stem, true, None)
            }
            Err(e) => {
                log(
                    sys,
                    &format!(
                        "boot: cannot mark {stem} good: {e}; systemd-boot goes on counting \
                         its tries"
                    ),
                );
                counted(stem, false, Some(e.to_string()))
            }
        };
        write_status(sys, &status);
    }
}

fn counted(stem: &str, blessed: bool, error: Option<String>) -> BootStatus<'_> {
    BootStatus {
        entry: Some(stem),
        counted: true,
        blessed: Some(blessed),
        error,
    }
}

fn uncounted(entry: Option<&str>) -> BootStatus<'_> {
    BootStatus {
        entry,
        counted: false,
        blessed: None,
        error: None,
    }
}

/// A loader variable's string; an unreadable or refused one is said once
/// and counts as unset.
fn loader_var(sys: &mut (impl Files + Console), name: &str) -> Option<String> {
    match efivar::read(sys, name) {
        Ok(None) => None,
        Ok(Some(Ok(value))) => Some(value),
        Ok(Some(Err(e))) => {
            log(
                sys,
                &format!("boot: {name} is refused ({e}); taken as unset"),
            );
            None
        }
        Err(e) => {
            log(
                sys,
                &format!("boot: cannot read {name} ({e}); taken as unset"),
            );
            None
        }
    }
}

/// The stem of `LoaderEntrySelected` (`cairn-1` for `cairn-1.efi`), or the
/// entry id as it is when it is not a UKI's file name.
fn selected_entry(sys: &mut (impl Files + Console)) -> Option<String> {
    if !sys.exists(EFI_DIR) {
        return None;
    }
    let id = loader_var(sys, ENTRY_SELECTED)?;
    match EntryName::parse(&id) {
        Some(entry) => Some(entry.stem),
        None => efivar::plain(&id).then_some(id),
    }
}

/// Writes [`STATUS`] through a temporary file, so a reader never sees half.
fn write_status(sys: &mut (impl Files + Console), status: &BootStatus<'_>) {
    let written = serde_json::to_string(status)
        .map_err(io::Error::other)
        .and_then(|mut text| {
            text.push('\n');
            let dir = STATUS.rsplit_once('/').map_or("/", |(d, _)| d);
            let tmp = format!("{STATUS}.tmp");
            sys.mkdir(dir)?;
            sys.write_file(&tmp, &text)?;
            sys.rename(&tmp, STATUS)
        });
    if let Err(e) = written {
        log(sys, &format!("warning: cannot write {STATUS}: {e}"));
    }
}

#[cfg(test)]
mod tests;
