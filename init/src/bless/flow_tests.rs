//! Whole boots against the fake: the supervisor blesses the counted entry
//! once every service stayed up for `good_after_secs`, and a service that
//! exits starts the wait over.

use super::*;
use crate::boot::run;
use crate::services::{Services, system};

const BLESSED: &str = "boot: cairn-2 is good (services up for ";

/// A counted boot with two services; a container asks for a power-off at
/// the `stop_at`th check of the services (about one a second).
fn booted(stop_at: usize) -> Fake {
    let mut sys = efi_disk(
        Some("\\EFI\\Linux\\cairn-2+3.efi"),
        &["cairn-1.efi", "cairn-2+2-1.efi"],
    );
    sys.dirs.insert(
        "/containers/services".into(),
        vec!["web".into(), "getty".into()],
    );
    sys.files.insert(
        system::PATH.into(),
        r#"{"services": ["web", "getty"], "good_after_secs": 30}"#.into(),
    );
    sys.request_after_tasks = Some(stop_at);
    sys
}

/// The seconds since boot of the line saying the entry is good.
fn blessed_at(sys: &Fake) -> Option<u64> {
    let line = sys.lines.iter().find(|l| l.contains(BLESSED))?;
    line.trim_start_matches('[')
        .split('.')
        .next()?
        .trim()
        .parse()
        .ok()
}

fn started_at(sys: &Fake) -> u64 {
    let line = sys
        .lines
        .iter()
        .find(|l| l.contains("all services started"))
        .expect("services started");
    line.trim_start_matches('[')
        .split('.')
        .next()
        .and_then(|s| s.trim().parse().ok())
        .expect("timestamp")
}

#[test]
fn the_supervisor_blesses_once_the_services_stayed_up() {
    let mut sys = booted(45);
    run(&mut sys);
    let at = blessed_at(&sys).expect("blessed");
    let start = started_at(&sys);
    assert!((start + 30..=start + 31).contains(&at), "{:#?}", sys.lines);
    assert!(sys.logged("EFI/Linux/cairn-2+2-1.efi -> cairn-2.efi"));
    assert_eq!(sys.calls_starting("mount vfat").len(), 1);
    assert_eq!(
        status(&sys),
        r#"{"entry":"cairn-2","counted":true,"blessed":true}"#
    );
    // efivarfs was mounted with the system, long before.
    let efivars = sys.position("mount efivarfs /sys/firmware/efi/efivars ");
    assert!(efivars.is_some() && efivars < sys.position("mount vfat /run/cairn/esp "));
}

#[test]
fn a_service_restart_resets_the_clock() {
    let mut sys = booted(60);
    // web exits at the tenth check and is restarted a second later.
    sys.exits_at = vec![(10, "web".into(), 2)];
    run(&mut sys);
    assert!(sys.logged("service web exited with status 2; restarting in 1.0s"));
    let at = blessed_at(&sys).expect("blessed");
    let start = started_at(&sys);
    assert!(at >= start + 40, "blessed at {at} s: {:#?}", sys.lines);
    assert!(sys.logged(&format!("{BLESSED}30 s)")));
}

#[test]
fn a_service_that_finished_its_work_counts_as_up() {
    let mut sys = booted(45);
    sys.files.insert(
        "/containers/services/web/runtime.json".into(),
        r#"{"restart": {"policy": "never"}}"#.into(),
    );
    sys.exits_at = vec![(3, "web".into(), 0)];
    run(&mut sys);
    let at = blessed_at(&sys).expect("blessed");
    assert!(at >= started_at(&sys) + 33, "{:#?}", sys.lines);
}

#[test]
fn a_service_that_failed_for_good_keeps_the_trial_going() {
    let mut sys = booted(60);
    sys.files.insert(
        "/containers/services/web/runtime.json".into(),
        r#"{"restart": {"policy": "never"}}"#.into(),
    );
    sys.exits_at = vec![(3, "web".into(), 1)];
    run(&mut sys);
    assert!(sys.logged("service web exited with status 1; not restarted"));
    assert_eq!(blessed_at(&sys), None, "{:#?}", sys.lines);
    assert!(sys.calls_starting("mount vfat").is_empty());
    assert_eq!(
        status(&sys),
        r#"{"entry":"cairn-2","counted":true,"blessed":false}"#
    );
}

#[test]
fn a_system_without_services_counts_as_up_from_their_start() {
    let mut sys = Fake::new();
    let mut services = Services::load(&mut sys, &system::System::default());
    assert_eq!(services.all_up_since(), None);
    sys.millis = 1234;
    services.start_all(&mut sys);
    assert!(sys.logged("no services"));
    assert_eq!(services.all_up_since(), Some(Duration::from_millis(1234)));
}
