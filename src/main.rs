//! `comptoir`: parse arguments, hand over to the library.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Before any thread exists: the file's values go into the environment.
    if let Err(message) = comptoir::config::load_file() {
        eprintln!("comptoir: {message}");
        return std::process::ExitCode::from(2);
    }
    comptoir::telemetry::init();
    let cli = comptoir::cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("comptoir: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(comptoir::app::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("comptoir: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
