//! The `talent-gateway` command.
#![forbid(unsafe_code)]

use clap::Parser;

// The verify path allocates and frees small buffers per call on every core: glibc's malloc
// spent about an eighth of a VerifyCard's time in its locks and free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // One crypto provider, installed before anything touches TLS.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = talent_gateway::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(talent_gateway::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<talent_gateway::cli::Exit>() {
            Some(exit) => {
                if !exit.message.is_empty() {
                    eprintln!("error: {}", exit.message);
                }
                std::process::ExitCode::from(exit.code)
            }
            None => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
