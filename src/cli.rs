//! The command line (clap): `trellis serve`, `credentials`, `simulate`,
//! `import` and `export`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Generate a simulated learner population as xAPI statements (JSON
    /// lines to a file or stdout, or posted to an xAPI endpoint).
    Simulate(SimulateArgs),
    /// Load statement files (JSON lines, a JSON array, or {"statements":
    /// [...]}) straight into the store, validated like the xAPI API.
    Import(ImportArgs),
    /// Write stored statements as JSON lines.
    Export(ExportArgs),
}

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Recompute all aggregated analytics state from the stored statements.
    Rebuild,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Number of learners.
    #[arg(long, default_value_t = 500)]
    pub learners: u32,
    /// Number of courses in the catalogue.
    #[arg(long, default_value_t = 6)]
    pub courses: u16,
    /// Length of the simulated period in days.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// First simulated day, YYYY-MM-DD (UTC) [default: DAYS days before
    /// today, so the data ends today]. Give it for reproducible output.
    #[arg(long)]
    pub start: Option<chrono::NaiveDate>,
    /// Seed of the random generator (ChaCha8): the same seed, sizes and
    /// start give byte-identical statements.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after this many statements (the earliest ones).
    #[arg(long)]
    pub max_statements: Option<usize>,
    /// Write JSON lines to this file [default: stdout, unless --endpoint].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Post to this xAPI endpoint instead, e.g. http://127.0.0.1:8080/xapi/
    #[arg(long)]
    pub endpoint: Option<String>,
    /// HTTP Basic user (credential key) for --endpoint.
    #[arg(long, env = "TRELLIS_SIMULATE_USER")]
    pub user: Option<String>,
    /// HTTP Basic password (credential secret) for --endpoint.
    #[arg(long, env = "TRELLIS_SIMULATE_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Statements per POST.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// POST requests in flight.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// X-Experience-API-Version header sent to --endpoint.
    #[arg(long, default_value = "2.0.0")]
    pub xapi_version: String,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Files to import ("-" reads stdin).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Validate by the rules of this xAPI version (1.0.3 or 2.0.0).
    #[arg(long, default_value = "2.0.0")]
    pub xapi_version: String,
    /// Retry statements the 2.0.0 rules refuse with the 1.0.3 rules (for
    /// files exported by 1.0.3 LRSs).
    #[arg(long)]
    pub fallback_1_0_3: bool,
    /// Statements per atomic write.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// Base URL of the server, the homePage of the import authority
    /// [default: the configured public_url, else http://LISTEN].
    #[arg(long, env = "TRELLIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Write to this file [default: stdout].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Only statements about this Agent or identified Group (JSON).
    #[arg(long)]
    pub agent: Option<String>,
    /// Only statements with this verb IRI.
    #[arg(long)]
    pub verb: Option<String>,
    /// Only statements about this Activity IRI.
    #[arg(long)]
    pub activity: Option<String>,
    /// Only statements with this registration.
    #[arg(long)]
    pub registration: Option<String>,
    /// Match --agent anywhere in the statement.
    #[arg(long)]
    pub related_agents: bool,
    /// Match --activity anywhere in the statement.
    #[arg(long)]
    pub related_activities: bool,
    /// Only statements stored after this instant (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Only statements stored at or before this instant (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// Oldest first.
    #[arg(long)]
    pub ascending: bool,
    /// At most this many statements.
    #[arg(long)]
    pub limit: Option<usize>,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
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
