//! The mount package's `mountie` (see `cairn_tools::mountie`): finds the
//! disk, creates the mount point and runs util-linux's `mount`.

use std::process::{Command, ExitCode};

use cairn_tools::mountie::{self, Seen, Want};
use cairn_tools::probe::{file_system, read_head};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mountie: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (want, dir) = mountie::parse(args)?;
    let seen = devices();
    let chosen = mountie::choose(&want, &seen)
        .cloned()
        .or_else(|| match &want {
            // A device that is not a disk /sys lists (a loop file, a path
            // through a symlink) is still mounted as asked.
            Want::Device(d) => Some(Seen {
                device: d.clone(),
                partition: false,
                fs: None,
                mounted: false,
            }),
            _ => None,
        });
    let Some(chosen) = chosen else {
        return Err(match want {
            Want::Label(l) => format!("no disk has a file system labelled {l:?}"),
            Want::Uuid(u) => format!("no disk has a file system with UUID {u}"),
            _ => "no partition with a file system that is not mounted yet".into(),
        });
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
    let mut cmd = Command::new("/bin/mount");
    if let Some(fs) = &chosen.fs {
        cmd.args(["-t", fs.kind]);
    }
    let status = cmd
        .arg(&chosen.device)
        .arg(&dir)
        .status()
        .map_err(|e| format!("cannot run /bin/mount: {e}"))?;
    if !status.success() {
        return Err(format!("mount {} {dir} failed ({status})", chosen.device));
    }
    let what = match &chosen.fs {
        Some(fs) if !fs.label.is_empty() => format!(" ({}, label {})", fs.kind, fs.label),
        Some(fs) => format!(" ({})", fs.kind),
        None => String::new(),
    };
    println!("mountie: mounted {}{what} on {dir}", chosen.device);
    Ok(())
}

/// Every block device (disks and partitions), in name order.
fn devices() -> Vec<Seen> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mounted: Vec<&str> = mounts.lines().filter_map(|l| l.split(' ').next()).collect();
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/block")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter(|n| !n.starts_with("loop") && !n.starts_with("ram"))
        .map(|name| {
            let device = format!("/dev/{name}");
            let fs = read_head(&device).ok().and_then(|head| file_system(&head));
            Seen {
                partition: std::path::Path::new(&format!("/sys/class/block/{name}/partition"))
                    .exists(),
                mounted: mounted.contains(&device.as_str()),
                device,
                fs,
            }
        })
        .collect()
}
