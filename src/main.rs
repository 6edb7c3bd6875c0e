//! The `bmnet` command-line tool: glue over the bmnet crates.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
