//! Ingestion: the statements of one submission (a PUT or POST to the
//! Statement Resource, or one record of an import file) turned into the
//! batch the store takes (`Store::insert_statements`), or refused with an
//! `IngestError`. No HTTP here: the Statement Resource maps its request to
//! a `Submission` and `AttachmentPart`s, `transfer::import` maps a file
//! record, and both call `prepare` with their `Options`.
//!
//! The rules, in order (the first broken one is reported):
//! 1. **Shape.** The body is strict JSON (`xapi::json`: a repeated key is
//!    refused): one statement object for a PUT, one or an array for a POST.
//! 2. **Size.** At most `Options::max_statements` statements.
//! 3. **Each statement, in order.**
//!    - *Parsed* by `Statement::parse` under `Options::version` (schema,
//!      rules, normalisation; a voiding statement must target a
//!      StatementRef), or under `Options::fallback` when that refuses it.
//!    - *Id.* A PUT's `statementId` must equal the statement's `id` when it
//!      has one, and is its id otherwise; any other statement without an id
//!      gets one by `Options::missing_ids`.
//!    - *Duplicates.* An id appears once per submission.
//!    - *Authority* by `Options::authority`.
//! 4. **Attachments** (`attachments`): every part is binary, carries the
//!    hash of its content and matches a declared attachment; a declared
//!    attachment without `fileUrl` has a part; a signature attachment is
//!    `application/octet-stream` with a part holding a JWS of its statement.
//!
//! What needs the stored log is checked by the store inside its write
//! transaction (store contract): an id already stored with other content
//! (conflict) or the same (accepted, nothing written), the voiding of a
//! voiding statement, a statement whose voiding statement came first.

mod attachments;
mod error;
mod ids;

use std::collections::HashSet;

use serde_json::Value;
use uuid::Uuid;

pub use attachments::{sha2_hex, AttachmentPart};
pub use error::IngestError;
pub use ids::content_id;

use crate::auth::Principal;
use crate::store::{Attachment, NewStatement};
use crate::xapi::{JsonPath, Statement, ValidationError, XapiVersion};

/// Who submits the statements.
#[derive(Debug, Clone, PartialEq)]
pub struct Sender {
    /// The Agent recorded as `authority` (see `AuthorityRule`).
    pub authority: Value,
    /// The credential key the statements are recorded under (what
    /// `statements/read/mine` reads back).
    pub key: String,
    /// Whether the statements may change canonical Activity definitions.
    pub may_define: bool,
}

impl Sender {
    /// A client of the Statement Resource; refused unless its scopes allow
    /// writing statements.
    pub fn for_principal(principal: &Principal, home_page: &str) -> Result<Sender, IngestError> {
        if !principal.can_write_statements() {
            return Err(IngestError::NotPermitted);
        }
        Ok(Sender {
            authority: principal.authority(home_page),
            key: principal.key.clone(),
            may_define: principal.can_define(),
        })
    }
}

/// The id a statement without one gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingIds {
    /// A random UUID (v4), as the LRS assigns on a POST.
    Random,
    /// A UUID v5 of the statement's content (`content_id`): submitting the
    /// same statement again yields the same id, so the store's equivalence
    /// check turns the repeat into a no-op (a re-run import stores nothing
    /// twice).
    FromContent,
}

/// Whose `authority` a statement is stored with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityRule {
    /// The sender's, replacing any the statement carries: the LRS sets the
    /// authority of what it receives from a client (Data 2.4.9).
    Sender,
    /// The statement's own when it has one (it was received, and its
    /// authority set, by another LRS), else the sender's.
    KeepGiven,
}

/// The policy of one kind of submission. `statement_resource` and `import`
/// are the two in use; they differ only where a field says so.
#[derive(Debug, Clone)]
pub struct Options {
    /// Whose rules statements are parsed by.
    pub version: XapiVersion,
    /// Rules tried when `version`'s refuse a statement (1.0.3 statements in
    /// a 2.0 import); the refusal reported is `version`'s.
    pub fallback: Option<XapiVersion>,
    /// The most statements one submission may hold.
    pub max_statements: usize,
    pub missing_ids: MissingIds,
    pub authority: AuthorityRule,
    /// A statement without `timestamp` but with `stored` (as another LRS
    /// exports it) gets `timestamp` = that `stored` before it is parsed, so
    /// the time it happened survives the new `stored` the store assigns.
    pub timestamp_from_stored: bool,
    pub sender: Sender,
}

impl Options {
    /// A PUT or POST to the Statement Resource: the request's version only,
    /// random ids, the client's authority, at most `max_statements`.
    pub fn statement_resource(
        version: XapiVersion,
        sender: Sender,
        max_statements: usize,
    ) -> Options {
        Options {
            version,
            fallback: None,
            max_statements,
            missing_ids: MissingIds::Random,
            authority: AuthorityRule::Sender,
            timestamp_from_stored: false,
            sender,
        }
    }

    /// Statements exported by an LRS (`trellis import`): content-derived
    /// ids so an import can be re-run, their own authority kept, their
    /// `stored` kept as `timestamp`, and `fallback` rules for older files.
    /// Every other rule is the Statement Resource's.
    pub fn import(version: XapiVersion, fallback: Option<XapiVersion>, sender: Sender) -> Options {
        Options {
            version,
            fallback,
            max_statements: usize::MAX,
            missing_ids: MissingIds::FromContent,
            authority: AuthorityRule::KeepGiven,
            timestamp_from_stored: true,
            sender,
        }
    }
}

/// The statements of one submission, read as JSON but not yet checked.
#[derive(Debug, Clone)]
pub struct Submission {
    statements: Vec<(Value, JsonPath)>,
    /// A PUT's `statementId`.
    put_id: Option<Uuid>,
}

impl Submission {
    /// The body of a PUT: one statement, to be stored as `statement_id`.
    pub fn put(json: &[u8], statement_id: Uuid) -> Result<Submission, IngestError> {
        match parse_json(json)? {
            Value::Object(o) => Ok(Submission {
                statements: vec![(Value::Object(o), JsonPath::root())],
                put_id: Some(statement_id),
            }),
            _ => Err(IngestError::PutNotAnObject),
        }
    }

    /// The body of a POST: a statement or an array of statements.
    pub fn post(json: &[u8]) -> Result<Submission, IngestError> {
        let statements = match parse_json(json)? {
            Value::Object(o) => vec![(Value::Object(o), JsonPath::root())],
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| (item, JsonPath::root().index(i)))
                .collect(),
            _ => return Err(IngestError::NotStatements),
        };
        Ok(Submission {
            statements,
            put_id: None,
        })
    }

    /// One statement already read as JSON (a record of an import file), as
    /// a POST of that statement alone.
    pub fn single(value: Value) -> Submission {
        Submission {
            statements: vec![(value, JsonPath::root())],
            put_id: None,
        }
    }

    /// How many statements it holds (valid or not).
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

fn parse_json(json: &[u8]) -> Result<Value, IngestError> {
    crate::xapi::json::from_slice(json).map_err(IngestError::NotJson)
}

/// A checked submission, in the form `Store::insert_statements` takes.
#[derive(Debug, Clone)]
pub struct Batch {
    /// In submission order, each with its id and authority.
    pub statements: Vec<NewStatement>,
    /// The content of the submitted parts, one per hash.
    pub attachments: Vec<Attachment>,
}

/// Applies every rule of this module to `submission` and its `parts`.
pub fn prepare(
    submission: Submission,
    parts: Vec<AttachmentPart>,
    options: &Options,
) -> Result<Batch, IngestError> {
    let Submission {
        statements: values,
        put_id,
    } = submission;
    if values.len() > options.max_statements {
        return Err(IngestError::TooManyStatements {
            count: values.len(),
            limit: options.max_statements,
        });
    }
    let mut statements = Vec::with_capacity(values.len());
    let mut seen = HashSet::with_capacity(values.len());
    for (value, path) in values {
        let (mut statement, derived_id) = parse_statement(value, &path, options)?;
        if let Some(put_id) = put_id {
            match statement.id() {
                Some(id) if id != put_id => return Err(IngestError::StatementIdMismatch),
                _ => {
                    statement.ensure_id_or(put_id);
                }
            }
        }
        let id = match derived_id {
            Some(derived) => statement.ensure_id_or(derived),
            None => statement.ensure_id(),
        };
        if !seen.insert(id) {
            return Err(ValidationError::new(
                path.key("id"),
                format!("statement id {id} appears more than once in this request"),
            )
            .into());
        }
        let authority = match options.authority {
            AuthorityRule::Sender => None,
            AuthorityRule::KeepGiven => statement.body().get("authority").cloned(),
        };
        statement.set_authority(authority.unwrap_or_else(|| options.sender.authority.clone()));
        statements.push((statement, path));
    }
    let attachments = attachments::match_parts(&statements, parts)?;
    let statements = statements
        .into_iter()
        .map(|(statement, _)| {
            NewStatement::new(
                statement,
                options.sender.key.clone(),
                options.sender.may_define,
            )
        })
        .collect();
    Ok(Batch {
        statements,
        attachments,
    })
}

/// Parses one statement by the options' versions; returns it with the id
/// `MissingIds::FromContent` derived when it has none.
fn parse_statement(
    mut value: Value,
    path: &JsonPath,
    options: &Options,
) -> Result<(Statement, Option<Uuid>), IngestError> {
    if options.timestamp_from_stored {
        if let Value::Object(object) = &mut value {
            if !object.contains_key("timestamp") {
                if let Some(stored) = object.get("stored").cloned() {
                    object.insert("timestamp".into(), stored);
                }
            }
        }
    }
    // Derived from the statement as submitted (before normalisation), so
    // the id does not depend on this release's normal form.
    let derived_id = match options.missing_ids {
        MissingIds::FromContent if value.get("id").is_none() => Some(content_id(&value)),
        _ => None,
    };
    let statement = match options.fallback {
        None => Statement::parse(value, options.version, path)?,
        Some(fallback) => {
            let retry = value.clone();
            match Statement::parse(value, options.version, path) {
                Ok(statement) => statement,
                Err(first) => Statement::parse(retry, fallback, path).map_err(|_| first)?,
            }
        }
    };
    Ok((statement, derived_id))
}

#[cfg(test)]
mod tests;
