//! `ftry`: salon and spa management, one binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ftry::config::Config;
use ftry::server;
use ftry_ops::logging::LogTarget;

/// ftry runs a salon's day — calendar, online booking, clients, GST
/// checkout, reminders, reports — for many salons at once.
///
/// With nothing configured it runs on a private PostgreSQL it manages under
/// its data directory (./ftry-data). Configuration: defaults < ftry.toml <
/// environment (FTRY_*, DATABASE_URL, REDIS_URL); see ftry.example.toml.
#[derive(Parser)]
#[command(name = "ftry", version = env!("FTRY_VERSION"), propagate_version = true)]
struct Cli {
    /// Configuration file (default: ./ftry.toml when it exists).
    #[arg(long, global = true, env = "FTRY_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (migrating the database first unless
    /// database.auto_migrate = false). Stops cleanly on SIGTERM or SIGINT.
    Serve {
        /// Load the demo salon before serving and print how to look at it.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations as the owner role, then exit.
    Migrate,
    /// Load data into the database.
    Seed {
        /// The demo salon (idempotent: running it again changes nothing).
        #[arg(long, required = true)]
        demo: bool,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the version and the commit it was built from.
    Version,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective values as TOML,
    /// with every secret redacted.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!("ftry {} ({})", env!("FTRY_VERSION"), env!("FTRY_GIT_SHA"));
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("ftry: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config {
        command: ConfigCommand::Check,
    } = cli.command
    {
        print!("{}", config.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    let log_target = match cli.command {
        Command::Serve { .. } => LogTarget::Stdout,
        _ => LogTarget::Stderr,
    };
    if let Err(e) = ftry_ops::logging::init(&config.log, log_target) {
        eprintln!("ftry: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ftry: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "ftry stopped on an error");
            eprintln!("ftry: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => {
            let database = server::Database::open(&config).await?;
            let result = database.migrate().await;
            database.close().await?;
            let applied = result?;
            println!("migrations applied: {applied}");
            Ok(())
        }
        Command::Seed { demo: _ } => {
            let mut config = config;
            config.database.auto_migrate = true;
            let prepared = server::prepare(config, true).await?;
            println!("demo salon loaded: {}", ftry_store::seed::DEMO_TENANT_SLUG);
            prepared.database.close().await
        }
        Command::Config { .. } | Command::Version => Ok(()),
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let addr = config.http.addr;
    let prepared = server::prepare(config, demo).await?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            prepared.database.close().await?;
            anyhow::bail!("cannot listen on http.addr {addr}: {e}");
        }
    };
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "ftry is serving");
    if demo {
        println!(
            "ftry demo is running at http://{local}/ (demo salon: {}); readiness: http://{local}/health/ready",
            ftry_store::seed::DEMO_TENANT_SLUG
        );
    }
    server::run(prepared, listener, server::shutdown_signal()).await
}
