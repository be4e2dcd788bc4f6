//! Boot blessing against the fake: a cairn disk whose ESP is vda1, the
//! loader's variables as efivarfs files, the ESP's `EFI/Linux` as a
//! directory, and whole boots with services that stay up or do not.

use std::time::Duration;

use rustix::io::Errno;

use super::*;
use crate::data::tests::{Content, as_built, cairn_parts, disk_system, disk_with, layout};
use crate::fake::Fake;
use esp::ESP_MOUNT;

const UKIS: &str = "/run/cairn/esp/EFI/Linux";
const COUNT_FILE: &str =
    "/sys/firmware/efi/efivars/LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";
const GOOD: Duration = Duration::from_secs(30);

/// efivarfs's bytes of a string variable: attributes (non-volatile, boot
/// and runtime access), then NUL-terminated UTF-16LE.
pub fn var_bytes(text: &str) -> Vec<u8> {
    let mut bytes = 7u32.to_le_bytes().to_vec();
    for unit in text.encode_utf16().chain([0]) {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// A UEFI boot of a cairn disk: systemd-boot booted `count_path` (None:
/// an entry without a counter), and the ESP's `EFI/Linux` holds `ukis`.
fn efi_disk(count_path: Option<&str>, ukis: &[&str]) -> Fake {
    efi(as_built(Content::Ext4), count_path, ukis)
}

fn efi(mut sys: Fake, count_path: Option<&str>, ukis: &[&str]) -> Fake {
    sys.dirs.insert(EFI_DIR.into(), vec!["efivars".into()]);
    if let Some(path) = count_path {
        sys.blocks.insert(COUNT_FILE.into(), var_bytes(path));
    }
    sys.blocks.insert(
        efivar::path(ENTRY_SELECTED),
        var_bytes(count_path.map_or("cairn-1.efi", |p| p.rsplit('\\').next().unwrap_or(p))),
    );
    sys.dirs
        .insert(UKIS.into(), ukis.iter().map(|n| n.to_string()).collect());
    for name in ukis {
        sys.files.insert(format!("{UKIS}/{name}"), String::new());
    }
    sys
}

fn status(sys: &Fake) -> &str {
    sys.files.get(STATUS).map_or("", |s| s.trim_end())
}

/// Starts the blessing with the services up from `since` and checks it
/// `after` that.
fn bless_after(sys: &mut Fake, since: u64, after: u64) -> Blessing {
    let mut blessing = Blessing::start(sys, GOOD);
    sys.millis = (since + after) * 1000;
    blessing.check(sys, Some(Duration::from_secs(since)));
    blessing
}

#[test]
fn a_counted_entry_is_blessed_after_every_service_stayed_up() {
    let mut sys = efi_disk(
        Some("\\EFI\\Linux\\cairn-2+3.efi"),
        &["cairn-1.efi", "cairn-2+2-1.efi"],
    );
    let mut blessing = Blessing::start(&mut sys, GOOD);
    assert!(sys.logged(
        "boot: cairn-2 is on trial (systemd-boot counts its tries); it is marked good once \
         every service stayed up for 30 s"
    ));
    assert_eq!(
        status(&sys),
        r#"{"entry":"cairn-2","counted":true,"blessed":false}"#
    );
    sys.millis = 29_999;
    blessing.check(&mut sys, Some(Duration::ZERO));
    assert!(
        sys.calls_starting("mount vfat").is_empty(),
        "{:#?}",
        sys.calls
    );

    sys.millis = 30_000;
    blessing.check(&mut sys, Some(Duration::ZERO));
    let expected = [
        "mkdir /run/cairn/esp",
        "mount vfat /run/cairn/esp ",
        "rename /run/cairn/esp/EFI/Linux/cairn-2+2-1.efi /run/cairn/esp/EFI/Linux/cairn-2.efi",
        "fsync /run/cairn/esp/EFI/Linux/cairn-2.efi",
        "fsync /run/cairn/esp/EFI/Linux",
        "umount /run/cairn/esp",
    ];
    let first = sys.position(expected[0]).expect("ESP mounted");
    assert_eq!(sys.calls[first..first + expected.len()], expected);
    let flags = sys.mount_flags.iter().find(|(t, _)| t == ESP_MOUNT);
    assert_eq!(
        flags.map(|f| f.1),
        Some(MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC)
    );
    assert!(sys.lines.last().is_some_and(|l| l.ends_with(
        "cairn-init: boot: cairn-2 is good (services up for 30 s): \
         EFI/Linux/cairn-2+2-1.efi -> cairn-2.efi"
    )));
    assert_eq!(
        status(&sys),
        r#"{"entry":"cairn-2","counted":true,"blessed":true}"#
    );
    assert!(sys.calls.contains(&format!("rename {STATUS}.tmp {STATUS}")));
}

#[test]
fn the_variable_names_the_file_before_this_boots_rename() {
    // systemd-boot renamed +3 to +1-2 before this boot; the variable still
    // says +3. Another version whose name starts alike is left alone.
    let mut sys = efi_disk(
        Some("\\EFI\\Linux\\cairn-2+3.efi"),
        &["cairn-1.efi", "cairn-2+1-2.efi", "cairn-20+3.efi"],
    );
    bless_after(&mut sys, 5, 31);
    assert_eq!(
        sys.calls_starting("rename /run/cairn/esp"),
        ["rename /run/cairn/esp/EFI/Linux/cairn-2+1-2.efi /run/cairn/esp/EFI/Linux/cairn-2.efi"]
    );
    assert!(sys.logged("(services up for 31 s): EFI/Linux/cairn-2+1-2.efi -> cairn-2.efi"));
    assert_eq!(
        sys.dirs[UKIS],
        ["cairn-1.efi", "cairn-20+3.efi", "cairn-2.efi"]
    );
}

#[test]
fn an_uncounted_boot_blesses_nothing() {
    let mut sys = efi_disk(None, &["cairn-1.efi"]);
    let mut blessing = Blessing::start(&mut sys, GOOD);
    sys.millis = 3_600_000;
    blessing.check(&mut sys, Some(Duration::ZERO));
    assert!(sys.calls_starting("mount").is_empty(), "{:#?}", sys.calls);
    assert!(sys.lines.is_empty(), "{:#?}", sys.lines);
    assert_eq!(status(&sys), r#"{"entry":"cairn-1","counted":false}"#);
}

#[test]
fn without_uefi_nothing_is_mounted_read_or_said() {
    let mut sys = as_built(Content::Ext4);
    mount_efivars(&mut sys);
    let mut blessing = Blessing::start(&mut sys, GOOD);
    sys.millis = 3_600_000;
    blessing.check(&mut sys, Some(Duration::ZERO));
    assert!(sys.calls_starting("mount").is_empty(), "{:#?}", sys.calls);
    assert!(sys.lines.is_empty(), "{:#?}", sys.lines);
    assert_eq!(status(&sys), r#"{"entry":null,"counted":false}"#);
}

#[test]
fn efivarfs_is_mounted_once_on_a_uefi_boot() {
    let mut sys = efi_disk(None, &[]);
    mount_efivars(&mut sys);
    assert_eq!(
        sys.calls,
        [
            "mkdir /sys/firmware/efi/efivars",
            "mount efivarfs /sys/firmware/efi/efivars "
        ]
    );
    assert!(sys.logged("mounted /sys/firmware/efi/efivars (efivarfs)"));

    let mut again = efi_disk(None, &[]);
    again.files.insert(
        "/proc/self/mounts".into(),
        "sysfs /sys sysfs rw 0 0\nefivarfs /sys/firmware/efi/efivars efivarfs rw 0 0\n".into(),
    );
    mount_efivars(&mut again);
    assert!(again.calls.is_empty(), "{:#?}", again.calls);
}

#[test]
fn a_failing_efivarfs_mount_is_one_warning() {
    let mut sys = efi_disk(None, &[]);
    sys.failing_mounts.insert(EFIVARS.into(), Errno::NODEV);
    mount_efivars(&mut sys);
    assert_eq!(sys.lines.len(), 1);
    assert!(sys.logged(
        "warning: cannot mount /sys/firmware/efi/efivars (efivarfs): No such device (os error \
         19); boot blessing is off (the kernel's efivarfs module may be missing from the image)"
    ));
}

#[test]
fn an_entry_blessed_before_is_only_reported() {
    let mut sys = efi_disk(
        Some("\\EFI\\Linux\\cairn-2+3.efi"),
        &["cairn-2+2-1.efi", "CAIRN-2.EFI"],
    );
    bless_after(&mut sys, 0, 30);
    assert!(sys.calls_starting("rename /run/cairn/esp").is_empty());
    assert!(sys.logged(
        "boot: cairn-2 is good (services up for 30 s): EFI/Linux/cairn-2.efi was blessed before"
    ));
    assert_eq!(
        status(&sys),
        r#"{"entry":"cairn-2","counted":true,"blessed":true}"#
    );
    assert!(sys.position("umount /run/cairn/esp").is_some());
}

#[test]
fn an_entry_is_blessed_at_most_once_per_boot() {
    let mut sys = efi_disk(Some("\\EFI\\Linux\\cairn-2+3.efi"), &["cairn-1.efi"]);
    let mut blessing = bless_after(&mut sys, 0, 30);
    sys.millis = 90_000;
    blessing.check(&mut sys, Some(Duration::ZERO));
    assert_eq!(sys.calls_starting("mount vfat").len(), 1);
    assert_eq!(sys.lines.len(), 2, "{:#?}", sys.lines);
}

/// The console line and the status of a blessing that failed.
fn failed(sys: &Fake, why: &str) {
    let line = format!("boot: cannot mark cairn-2 good: {why}");
    let tail = "; systemd-boot goes on counting its tries";
    assert!(
        sys.lines
            .iter()
            .any(|l| l.contains(&line) && l.ends_with(tail)),
        "{line}\n{:#?}",
        sys.lines
    );
    let json: serde_json::Value = serde_json::from_str(status(sys)).expect("status");
    assert_eq!(json["blessed"], false);
    assert!(json["error"].as_str().is_some_and(|e| e.starts_with(why)));
}

#[test]
fn a_missing_counted_file_is_one_line_and_the_boot_goes_on() {
    let mut sys = efi_disk(
        Some("\\EFI\\Linux\\cairn-2+3.efi"),
        &["cairn-1.efi", "cairn-3+3.efi"],
    );
    bless_after(&mut sys, 0, 30);
    failed(
        &sys,
        "no file cairn-2+TRIES[-DONE].efi in EFI/Linux on the ESP /dev/vda1 (it holds \
         cairn-1.efi, cairn-3+3.efi)",
    );
    assert!(sys.position("umount /run/cairn/esp").is_some());
}

#[test]
fn a_failing_rename_is_reported_and_the_esp_unmounted() {
    let mut sys = efi_disk(Some("\\EFI\\Linux\\cairn-2+3.efi"), &["cairn-2+2-1.efi"]);
    sys.failing_renames
        .insert(format!("{UKIS}/cairn-2+2-1.efi"), Errno::IO);
    bless_after(&mut sys, 0, 30);
    failed(
        &sys,
        "cannot rename EFI/Linux/cairn-2+2-1.efi to cairn-2.efi on the ESP /dev/vda1: \
         Input/output error",
    );
    assert!(sys.position("umount /run/cairn/esp").is_some());
    assert!(sys.calls_starting("fsync").is_empty());
}

#[test]
fn a_failing_esp_mount_names_the_vfat_module() {
    let mut sys = efi_disk(Some("\\EFI\\Linux\\cairn-2+3.efi"), &["cairn-2+2-1.efi"]);
    sys.failing_mounts.insert(ESP_MOUNT.into(), Errno::NODEV);
    bless_after(&mut sys, 0, 30);
    failed(
        &sys,
        "cannot mount the ESP /dev/vda1 (vfat) on /run/cairn/esp: No such device (os error \
         19); the kernel's vfat module",
    );
    assert!(sys.calls_starting("umount").is_empty());
}

#[test]
fn a_disk_without_an_esp_says_so() {
    let parts: Vec<_> = cairn_parts().into_iter().skip(1).collect();
    let disk = disk_system(disk_with(&parts, layout().disk_bytes), Content::Ext4);
    let mut sys = efi(disk, Some("\\EFI\\Linux\\cairn-2+3.efi"), &[]);
    bless_after(&mut sys, 0, 30);
    failed(&sys, "/dev/vda has no EFI system partition in its GPT");
    assert!(sys.calls_starting("mount").is_empty());
}

#[test]
fn a_root_that_is_not_a_verified_disk_has_no_esp_to_bless() {
    let mut sys = efi_disk(Some("\\EFI\\Linux\\cairn-2+3.efi"), &[]);
    sys.files.remove("/sys/class/block/dm-0/dm/name");
    bless_after(&mut sys, 0, 30);
    failed(
        &sys,
        "the root is not a verified disk (no device-mapper device cairn-root)",
    );
}

#[test]
fn hostile_efivar_bytes_are_refused() {
    let mut long = var_bytes("\\EFI\\Linux\\cairn-2+3.efi");
    long.resize(64 * 1024, b'a');
    let mut odd = var_bytes("\\EFI\\Linux\\cairn-2+3.efi");
    odd.push(0);
    let cases: [(Vec<u8>, &str); 3] = [
        (long, "it holds more than 1028 bytes"),
        (odd, "not whole UTF-16 units"),
        (vec![7, 0, 0, 0, b'a', 0], "no terminating NUL"),
    ];
    for (bytes, why) in cases {
        let mut sys = efi_disk(None, &["cairn-2+2-1.efi"]);
        sys.blocks.insert(COUNT_FILE.into(), bytes);
        let mut blessing = Blessing::start(&mut sys, GOOD);
        sys.millis = 60_000;
        blessing.check(&mut sys, Some(Duration::ZERO));
        assert!(sys.calls_starting("mount").is_empty(), "{why}");
        let refused = "boot: LoaderBootCountPath is refused (";
        assert!(
            sys.lines
                .iter()
                .any(|l| l.contains(refused) && l.contains(why) && l.ends_with("taken as unset")),
            "{why}: {:#?}",
            sys.lines
        );
        assert_eq!(status(&sys), r#"{"entry":"cairn-1","counted":false}"#);
    }
}

#[test]
fn a_counted_path_outside_efi_linux_is_not_blessed() {
    for path in [
        "\\loader\\entries\\cairn-2+3.conf",
        "\\EFI\\Linux\\..\\..\\cairn-2+3.efi",
        "\\EFI\\Linux\\cairn-2.efi",
    ] {
        let mut sys = efi_disk(Some(path), &["cairn-2+2-1.efi"]);
        let mut blessing = Blessing::start(&mut sys, GOOD);
        sys.millis = 60_000;
        blessing.check(&mut sys, Some(Duration::ZERO));
        assert!(sys.calls_starting("mount").is_empty(), "{path}");
        assert!(sys.logged("boot: LoaderBootCountPath "), "{path}");
        assert!(sys.logged("; nothing is blessed"), "{path}");
        let json: serde_json::Value = serde_json::from_str(status(&sys)).expect("status");
        assert_eq!(json["counted"], true, "{path}");
        assert_eq!(json["blessed"], false, "{path}");
    }
}

#[test]
fn services_that_are_down_keep_the_trial_going() {
    let mut sys = efi_disk(Some("\\EFI\\Linux\\cairn-2+3.efi"), &["cairn-2+2-1.efi"]);
    let mut blessing = Blessing::start(&mut sys, GOOD);
    sys.millis = 3_600_000;
    blessing.check(&mut sys, None);
    assert!(sys.calls_starting("mount").is_empty());
    assert_eq!(
        status(&sys),
        r#"{"entry":"cairn-2","counted":true,"blessed":false}"#
    );
}

#[test]
fn good_after_secs_comes_from_system_json_with_a_default_of_30() {
    use crate::services::system::System;
    let parse = |text: &str| serde_json::from_str::<System>(text).expect("system.json");
    assert_eq!(parse("{}").good_after(), GOOD);
    assert_eq!(
        parse(r#"{"good_after_secs": 90}"#).good_after(),
        Duration::from_secs(90)
    );
}

#[path = "flow_tests.rs"]
mod flow;
