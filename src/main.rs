use clap::Parser;
use trellis::cli::{Cli, Command};
use trellis::commands;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve(args) => commands::serve::run(&cli.store, args).await,
        Command::Credentials(cmd) => commands::credentials::run(&cli.store, cmd).await,
        Command::Analytics(cmd) => commands::analytics::run(&cli.store, cmd).await,
        Command::Simulate(args) => commands::simulate::run(args),
        Command::Import(args) => commands::import::run(&cli.store, args).await,
        Command::Export(args) => commands::export::run(&cli.store, args).await,
    }
}
