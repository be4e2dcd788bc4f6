//! Service output: each service writes to its own FIFO, which a thread of
//! the init reads for the whole boot, printing each line on the console as
//! `NAME: LINE` and appending it to `/var/log/NAME.log`. The thread holds
//! the FIFO open for writing too, so a restarting service never makes it
//! see end-of-file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};

use rustix::fs::{FileType, Mode};

pub const FIFO_DIR: &str = "/run/cairn/log";
pub const LOG_DIR: &str = "/var/log";

/// Creates the FIFO of service `name` and its reader thread, once; returns
/// the FIFO's path for containerd.
pub fn fifo_for(name: &str) -> io::Result<String> {
    let fifo = format!("{FIFO_DIR}/{name}.fifo");
    if std::fs::symlink_metadata(&fifo).is_ok() {
        return Ok(fifo);
    }
    std::fs::create_dir_all(FIFO_DIR)?;
    std::fs::create_dir_all(LOG_DIR)?;
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )?;
    // Read-write: the open does not wait for a writer, and EOF never comes.
    let reader = OpenOptions::new().read(true).write(true).open(&fifo)?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{LOG_DIR}/{name}.log"))?;
    let prefix = name.to_string();
    std::thread::Builder::new()
        .name(format!("log-{name}"))
        .spawn(move || copy_lines(&prefix, reader, log))?;
    Ok(fifo)
}

fn copy_lines(name: &str, reader: File, mut log: File) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let _ = log.write_all(&line);
        let text = String::from_utf8_lossy(&line);
        let _ = writeln!(
            io::stdout().lock(),
            "{name}: {}",
            text.trim_end_matches(['\n', '\r'])
        );
    }
}
