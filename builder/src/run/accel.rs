//! Choosing KVM or TCG. `/dev/kvm` existing is not enough: on some hosts it
//! opens but a guest spins forever after the firmware. KVM is used only
//! after a short probe boot of the system's own kernel (no initrd, so it
//! panics at once and `panic=-1` ends QEMU) finishes in time; the verdict is
//! remembered per host boot under ~/.cache/cairn.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::qemu::{self, Accel};
use crate::arch::Arch;

/// How long a probe boot may take before KVM counts as broken. A working
/// KVM reaches the panic in about a second.
const PROBE_TIMEOUT: Duration = Duration::from_secs(8);

/// What the user asked for with `--accel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Choice {
    /// KVM when a probe boot shows it works, else TCG.
    #[default]
    Auto,
    Kvm,
    Tcg,
}

/// The accelerator to use and why, in words for the user. `probe_kernel`
/// is a bare kernel to probe with; UEFI boots have none, so they use KVM
/// only on an earlier probe's verdict (a firmware boot under a broken KVM
/// gets through the firmware and hangs later, so it proves nothing quickly).
pub fn choose(choice: Choice, arch: Arch, probe_kernel: Option<&Path>) -> (Accel, String) {
    match choice {
        Choice::Kvm => (Accel::Kvm, "KVM (asked for)".into()),
        Choice::Tcg => (Accel::Tcg, "TCG (asked for)".into()),
        Choice::Auto if arch != Arch::host() => (
            Accel::Tcg,
            format!(
                "TCG ({} guest on a {} host)",
                arch.oci_name(),
                Arch::host().oci_name()
            ),
        ),
        Choice::Auto => {
            if OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/kvm")
                .is_err()
            {
                return (Accel::Tcg, "TCG (no usable /dev/kvm)".into());
            }
            match cached(arch) {
                Some(true) => (Accel::Kvm, "KVM (worked in an earlier probe)".into()),
                Some(false) => (Accel::Tcg, "TCG (/dev/kvm hung in an earlier probe)".into()),
                None => {
                    let Some(kernel) = probe_kernel else {
                        return (
                            Accel::Tcg,
                            "TCG (KVM not probed yet: boot a kernel+initrd once, or \
                             pass --accel kvm)"
                                .into(),
                        );
                    };
                    let works = probe(arch, kernel);
                    remember(arch, works);
                    if works {
                        (Accel::Kvm, "KVM (a probe boot worked)".into())
                    } else {
                        (
                            Accel::Tcg,
                            "TCG (/dev/kvm is there but a probe boot hung)".into(),
                        )
                    }
                }
            }
        }
    }
}

/// Boots `kernel` under KVM with no root, expecting its panic within the
/// timeout.
fn probe(arch: Arch, kernel: &Path) -> bool {
    let (program, _) = qemu::program(arch);
    let machine = match arch {
        Arch::Amd64 => "q35",
        Arch::Arm64 => "virt",
    };
    let append = format!(
        "console={} panic=-1 root=/dev/cairn-probe",
        qemu::console(arch)
    );
    let child = Command::new(program)
        .args([
            "-machine", machine, "-accel", "kvm", "-cpu", "host", "-m", "256",
        ])
        .args(["-nographic", "-no-reboot", "-kernel"])
        .arg(kernel)
        .args(["-append", &append, "-net", "none"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    let Some(mut out) = child.stdout.take() else {
        return false;
    };
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = out.read_to_end(&mut text);
        String::from_utf8_lossy(&text).contains("Kernel panic")
    });
    let started = Instant::now();
    let exited = loop {
        match child.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if started.elapsed() < PROBE_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
        }
    };
    let panicked = reader.join().unwrap_or(false);
    exited && panicked
}

fn cache_file(arch: Arch) -> Option<PathBuf> {
    let home = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(home.join("cairn").join(format!("kvm-{}", arch.oci_name())))
}

fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

fn cached(arch: Arch) -> Option<bool> {
    let text = fs::read_to_string(cache_file(arch)?).ok()?;
    let (id, verdict) = text.trim().split_once(' ')?;
    (Some(id.to_string()) == boot_id()).then_some(verdict == "works")
}

fn remember(arch: Arch, works: bool) {
    let (Some(file), Some(id)) = (cache_file(arch), boot_id()) else {
        return;
    };
    if let Some(dir) = file.parent() {
        let _ = fs::create_dir_all(dir);
    }
    let verdict = if works { "works" } else { "hangs" };
    let _ = fs::write(file, format!("{id} {verdict}\n"));
}
