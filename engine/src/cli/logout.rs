//! `berth logout [SERVER]`: forgets berth's stored credentials for a registry.

use std::process::ExitCode;

use berth_images::registry;

/// `berth logout`
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry (`host[:port]`); Docker Hub when omitted.
    pub server: Option<String>,
}

pub fn run(args: &LogoutArgs) -> anyhow::Result<ExitCode> {
    let server = registry::login::normalize(args.server.as_deref().unwrap_or(""));
    if registry::logout(&server)? {
        println!("Removing login credentials for {server}");
    } else {
        println!("Not logged in to {server}");
    }
    Ok(ExitCode::SUCCESS)
}
