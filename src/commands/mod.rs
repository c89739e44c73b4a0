//! One thin `run` per subcommand.

pub mod analytics;
pub mod credentials;
pub mod export;
pub mod import;
pub mod serve;
pub mod simulate;
