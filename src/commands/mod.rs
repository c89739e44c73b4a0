//! One thin `run` per subcommand.

pub mod analytics;
pub mod credentials;
pub mod serve;
