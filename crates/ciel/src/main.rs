//! `ciel`: one binary for the whole cloud. `ciel up` runs an all-in-one controller; `ciel
//! controller` one of several controllers sharing a database; `ciel agent` joins a
//! hypervisor host to the controllers.

mod agent;
mod client;
mod join_token;
mod malloc;
mod report;
mod settings;
mod up;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "ciel",
    version,
    about = "Ciel: a private cloud that speaks the OpenStack APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the all-in-one cloud (controller + local services) in the foreground.
    Up(up::UpArgs),
    /// Run the controller alone (no local agent): one of several sharing a PostgreSQL
    /// database (`--database postgres://…`), behind a load balancer.
    Controller(up::UpArgs),
    /// Run a hypervisor agent that joins a controller.
    Agent(Box<agent::AgentArgs>),
    /// Create, list and revoke the tokens new hypervisors join with (run on the controller).
    JoinToken {
        #[command(subcommand)]
        action: join_token::Action,
    },
    /// The cloud at a glance: controllers, hosts up or down with their last report, resources
    /// by state, the latest errors (admin credentials: OS_* or DATA_DIR/admin-openrc).
    Status(report::StatusArgs),
    /// Metered usage per project over a period (vCPU, RAM, disk, volume, floating IP and
    /// load balancer hours), as a table, CSV or JSON for billing.
    Usage(report::UsageArgs),
    /// Manage the token key repository.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Rotate token keys (staged key becomes primary); running controllers pick it up within 30 s.
    Rotate {
        #[arg(long, default_value = "/var/lib/ciel")]
        data_dir: PathBuf,
        /// Keys kept (primary + secondaries + staged).
        #[arg(long, default_value_t = 3)]
        max_active_keys: usize,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up::run(args, up::Role::AllInOne),
        Command::Controller(args) => up::run(args, up::Role::Controller),
        Command::Agent(args) => agent::run(*args),
        Command::JoinToken { action } => join_token::run(action),
        Command::Status(args) => report::status(args),
        Command::Usage(args) => report::usage(args),
        Command::Keys {
            action: KeysAction::Rotate {
                data_dir,
                max_active_keys,
            },
        } => ciel_controller::app::identity::tokens::TokenKeys::rotate(&data_dir.join("token-keys"), max_active_keys)
            .map(|_| println!("token keys rotated in {}", data_dir.join("token-keys").display())),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ciel: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
