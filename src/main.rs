//! The `exoderm` binary: clap arguments are validated into one typed command
//! ([`cli::Command`]), which runs; `main` prints the whole error chain once and exits
//! non-zero on failure.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let result = cli::Command::from_args(cli::parse()).and_then(cli::Command::execute);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
