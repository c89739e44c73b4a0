//! Who may get an attachment's content: the readers of a statement whose own
//! request carried that content, or whose credential sent that content
//! before. A statement that only declares a `sha2` (with a `fileUrl`, no
//! part) is granted nothing by the declaration alone, so a hash never works
//! as a key to another credential's bytes.
//!
//! Both backends keep the same two relations (a migration of each creates
//! them): *grants* `(statement id, sha2)`, the content a statement's
//! readers get with it, and *senders* `(sha2, credential key)`, who has sent
//! the content. `plan` computes what a batch adds; the backend writes it in
//! the batch's transaction.

use uuid::Uuid;

use super::{Attachment, NewStatement};

/// What one batch adds to the grants and senders.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct AccessPlan {
    /// Granted outright: the request carried the content.
    pub grants: Vec<(Uuid, String)>,
    /// Who sent content in this request: `(sha2, credential key)`.
    pub senders: Vec<(String, String)>,
    /// Granted only if the statement's credential sent the content before:
    /// `(statement id, sha2, credential key)`.
    pub claims: Vec<(Uuid, String, String)>,
}

/// The grants, senders and claims of `batch`, whose request carried
/// `attachments` (each with its lowercase hash).
pub(crate) fn plan(batch: &[NewStatement], attachments: &[Attachment]) -> AccessPlan {
    let mut plan = AccessPlan::default();
    for new in batch {
        let Some(id) = new.statement.id() else {
            continue;
        };
        for declared in new.statement.attachments() {
            if declared.sha2.is_empty() {
                continue;
            }
            if attachments.iter().any(|a| a.sha2 == declared.sha2) {
                push_new(&mut plan.grants, (id, declared.sha2.clone()));
                push_new(
                    &mut plan.senders,
                    (declared.sha2, new.authority_key.clone()),
                );
            } else {
                push_new(
                    &mut plan.claims,
                    (id, declared.sha2, new.authority_key.clone()),
                );
            }
        }
    }
    plan
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}
