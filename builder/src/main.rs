//! The `cairn` binary: set up logging, run the command, print the error chain once.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cairn::cli::Cli::parse();
    cairn::ui::init(cli.global.verbosity());
    match cairn::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            cairn::ui::report_error(&err);
            cairn::exit::code_for(&err)
        }
    }
}
