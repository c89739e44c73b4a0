//! The xAPI data model: parsing and validating statements, their query
//! terms, equivalence, and the response formats. This module does no I/O.

pub mod activity;
pub mod datatypes;
pub mod document;
pub mod format;
pub mod json;
pub mod params;
pub mod path;
#[cfg(test)]
mod props;
pub mod rules;
pub mod schema;
pub mod signature;
pub mod statement;
pub mod version;

pub use path::JsonPath;
pub use statement::{Statement, StatementTerms};
pub use version::XapiVersion;

/// A statement (or parameter) that breaks a rule of the specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    pub path: JsonPath,
    pub message: String,
}

impl ValidationError {
    pub fn new(path: JsonPath, message: impl Into<String>) -> ValidationError {
        ValidationError {
            path,
            message: message.into(),
        }
    }
}
