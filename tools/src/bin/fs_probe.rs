//! `cairn-fs-probe DEVICE`: exit 0 and name what DEVICE holds (a file
//! system or a partition table), exit 1 when it is blank, 2 when it cannot
//! be read. The format package's script formats only on 1.

use std::io::Read;
use std::process::ExitCode;

use cairn_tools::probe::{PROBE_LEN, identify};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [device] = args.as_slice() else {
        eprintln!(
            "usage: cairn-fs-probe DEVICE (exit 0: holds a file system or partition table, 1: blank)"
        );
        return ExitCode::from(2);
    };
    let mut head = Vec::with_capacity(PROBE_LEN);
    let read =
        std::fs::File::open(device).and_then(|f| f.take(PROBE_LEN as u64).read_to_end(&mut head));
    if let Err(e) = read {
        eprintln!("cairn-fs-probe: cannot read {device}: {e}");
        return ExitCode::from(2);
    }
    match identify(&head) {
        Some(what) => {
            println!("{device}: {what}");
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}
