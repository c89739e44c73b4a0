//! One thin `run` per subcommand.

pub mod credentials;
pub mod serve;
