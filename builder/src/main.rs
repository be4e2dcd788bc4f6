//! The `cairn` binary: set up logging, run the command, print the error chain once.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap exits with 2 on a usage error; in cairn 2 means the environment
    // failed, so a mistyped command line exits with 1 like any bad input.
    let cli = match cairn::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    cairn::ui::init(cli.global.verbosity());
    match cairn::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            cairn::ui::report_error(&err);
            cairn::cli::exit_code::code_for(&err)
        }
    }
}
