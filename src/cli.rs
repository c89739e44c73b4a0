//! The command line (clap): `trellis serve` and `trellis credentials ...`.

use clap::{Parser, Subcommand};

use crate::config::{ServeArgs, StoreArgs};

/// Trellis: an xAPI 1.0.3 / 2.0 Learning Record Store.
#[derive(Debug, Parser)]
#[command(name = "trellis", version)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the LRS (xAPI at http://LISTEN/xapi/).
    Serve(ServeArgs),
    /// Manage API credentials.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Manage the learner-experience analytics state.
    #[command(subcommand)]
    Analytics(AnalyticsCommand),
}

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Recompute all aggregated analytics state from the stored statements.
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Create a credential and print its key and secret (shown only once).
    Create {
        /// A name for whoever uses it (shown as the statement authority).
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: statements/write, statements/read,
        /// statements/read/mine, all/read, all, state, define, profile.
        #[arg(long, default_value = "statements/write,statements/read/mine")]
        scopes: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List credentials (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a credential by key.
    Revoke { key: String },
}
