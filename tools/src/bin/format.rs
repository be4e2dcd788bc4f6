//! The format package's `format` (see `cairn_tools::format` for the rules).
//! Exit 0 when the disk was formatted or left alone because it holds data;
//! 1 on any error, with a message that names the device.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use cairn_tools::format::{self, Options};
use cairn_tools::probe::{identify, read_head};
use cairn_tools::table;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "-h" || a == "-help" || a == "--help")
    {
        println!("{}", format::USAGE);
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("format: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let o = format::parse(args)?;
    let device = match &o.device {
        Some(d) => {
            let meta = std::fs::metadata(d).map_err(|e| format!("{d}: {e}"))?;
            if !meta.file_type().is_block_device() {
                return Err(format!("{d} is not a block device"));
            }
            if !o.force
                && let Some(what) = holds(d)?
            {
                println!("format: {d} already holds {what}; left alone (-force formats it anyway)");
                return Ok(());
            }
            d.clone()
        }
        None => match first_blank_disk(o.verbose)? {
            Some(d) => d,
            None => {
                println!("format: no blank disk found; nothing formatted");
                return Ok(());
            }
        },
    };
    format_disk(&o, &device)
}

/// What the start of a device holds, if anything.
fn holds(device: &str) -> Result<Option<&'static str>, String> {
    let head = read_head(device).map_err(|e| format!("cannot read {device}: {e}"))?;
    Ok(identify(&head))
}

fn first_blank_disk(verbose: bool) -> Result<Option<String>, String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .map_err(|e| format!("cannot list /sys/block: {e}"))?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let ro =
            std::fs::read_to_string(format!("/sys/block/{name}/ro")).is_ok_and(|t| t.trim() == "1");
        let device = format!("/dev/{name}");
        if !format::candidate(&name, ro) || !std::path::Path::new(&device).exists() {
            continue;
        }
        match holds(&device)? {
            None => return Ok(Some(device)),
            Some(what) if verbose => println!("format: {device} holds {what}; skipped"),
            Some(_) => {}
        }
    }
    Ok(None)
}

fn format_disk(o: &Options, device: &str) -> Result<(), String> {
    let fail = |what: &str, e: std::io::Error| format!("cannot {what} {device}: {e}");
    let mut disk = OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .map_err(|e| fail("open", e))?;
    let size = disk.seek(SeekFrom::End(0)).map_err(|e| fail("size", e))?;
    let sectors = size / table::SECTOR;
    // Old signatures at both ends (an old GPT keeps a copy at the end).
    let wipe = vec![0u8; 1 << 20];
    for offset in [0, size.saturating_sub(wipe.len() as u64)] {
        let len = wipe.len().min(size as usize);
        disk.write_all_at(&wipe[..len], offset)
            .map_err(|e| fail("wipe", e))?;
    }
    let writes = table::one_partition(o.partition, sectors, unique()?)?;
    for w in &writes {
        disk.write_all_at(&w.bytes, w.offset)
            .map_err(|e| fail("write the partition table of", e))?;
    }
    disk.sync_all().map_err(|e| fail("flush", e))?;
    drop(disk);
    let kind = if o.partition == table::Kind::Gpt {
        "gpt"
    } else {
        "dos"
    };
    println!(
        "format: {device}: one {kind} partition over {} MiB",
        size >> 20
    );
    // The kernel reads the new table; busybox's blockdev asks it to.
    let reread = Command::new("/bin/busybox")
        .args(["blockdev", "--rereadpt", device])
        .status();
    if !reread.is_ok_and(|s| s.success()) {
        eprintln!("format: warning: the kernel may not have read the new table of {device}");
    }
    let partition = format::first_partition(device);
    wait_for(&partition)?;
    let argv = format::mkfs(&o.fs_type, &o.label, &partition);
    if !["ext4", "xfs", "btrfs"].contains(&o.fs_type.as_str()) {
        eprintln!(
            "format: warning: type {} is not one LinuxKit supports; trying {}",
            o.fs_type, argv[0]
        );
    }
    if o.verbose {
        println!("format: {}", argv.join(" "));
    }
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .status()
        .map_err(|e| format!("cannot run {}: {e}; is it in the image?", argv[0]))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", argv.join(" ")));
    }
    let label = if o.label.is_empty() {
        String::new()
    } else {
        format!(" labelled {}", o.label)
    };
    println!("format: {partition} is {}{label}", o.fs_type);
    Ok(())
}

/// devtmpfs makes the partition's node once the kernel has read the table.
fn wait_for(partition: &str) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if std::fs::metadata(partition).is_ok_and(|m| m.file_type().is_block_device()) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "{partition} did not appear within 10 s after partitioning"
    ))
}

/// Random identifiers for the disk and its partition.
fn unique() -> Result<[u8; 36], String> {
    let mut bytes = [0u8; 36];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes)
}
