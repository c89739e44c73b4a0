//! Wrappers around a store (`InstrumentedStore`, `FaultyStore`) without
//! restating every method: the operations of the store traits are listed
//! once, in `operations!`, and that list generates both `Op` (one variant
//! per operation) and the delegating implementations of every store trait
//! for any `StoreLayer`. A wrapper only says what happens around one call.
//!
//! Adding an operation to a store trait means adding its line to
//! `operations!`; the wrappers and the metric labels follow.

use std::future::Future;

use async_trait::async_trait;
use uuid::Uuid;

use super::{
    AggregateCommit, Attachment, ConsumerState, Credential, CredentialStore, Document,
    DocumentScope, DocumentStore, DocumentWrite, NewStatement, Precondition, StatementLog,
    StatementPage, StatementQuery, Store, StoreError, StoredStatement,
};

/// A store wrapped with behaviour around each call (metrics, faults).
/// Every store trait is implemented for it by delegating to `inner` through
/// `around`.
pub trait StoreLayer: Send + Sync + 'static {
    type Inner: Store;

    fn inner(&self) -> &Self::Inner;

    /// Runs `call`, one call of operation `op` on `inner`, with this layer's
    /// behaviour around it. `call` has not started yet: nothing reaches the
    /// inner store until it is polled.
    fn around<'a, T: Send + 'a>(
        &'a self,
        op: Op,
        call: impl Future<Output = Result<T, StoreError>> + Send + 'a,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + 'a;
}

/// Calls `$then!` with every operation, grouped by the trait that declares
/// it: `Trait { Variant => method(arg: Type, ...) -> Output; ... }`. This is
/// the one list of the store's operations.
macro_rules! operations {
    ($then:ident) => {
        $then! {
            StatementLog {
                InsertStatements => insert_statements(batch: Vec<NewStatement>, attachments: Vec<Attachment>) -> Vec<Uuid>;
                Statement => statement(id: Uuid) -> Option<StoredStatement>;
                Query => query(query: &StatementQuery) -> StatementPage;
                Attachments => attachments(statements: &[Uuid]) -> Vec<Attachment>;
                ConsistentThrough => consistent_through() -> i64;
                LogAfter => log_after(after: i64, limit: usize) -> Vec<StoredStatement>;
            }
            DocumentStore {
                ActivityDefinition => activity_definition(activity_id: &str) -> Option<serde_json::Value>;
                Document => document(scope: &DocumentScope, id: &str) -> Option<Document>;
                DocumentIds => document_ids(scope: &DocumentScope, since_ms: Option<i64>) -> Vec<(String, i64)>;
                PutDocument => put_document(scope: &DocumentScope, id: &str, write: DocumentWrite, precondition: Precondition) -> Document;
                DeleteDocuments => delete_documents(scope: &DocumentScope, id: Option<&str>, precondition: Precondition) -> ();
            }
            CredentialStore {
                Credential => credential(key: &str) -> Option<Credential>;
                PutCredential => put_credential(credential: Credential) -> ();
                Credentials => credentials() -> Vec<Credential>;
                RevokeCredential => revoke_credential(key: &str) -> bool;
            }
            ConsumerState {
                Checkpoint => checkpoint(consumer: &str) -> i64;
                AggregateRecords => aggregate_records(consumer: &str, after_key: Option<String>, limit: usize) -> Vec<(String, Vec<u8>)>;
                CommitAggregate => commit_aggregate(consumer: &str, commit: AggregateCommit) -> bool;
                ResetAggregate => reset_aggregate(consumer: &str) -> ();
            }
            Store {
                Ping => ping() -> ();
                Flush => flush() -> ();
            }
        }
    };
}

macro_rules! define_op {
    ($($trait_:ident { $($variant:ident => $method:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* })*) => {
        /// One operation of the store, e.g. as the `operation` label of the
        /// store metrics.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op {
            $($($variant,)*)*
        }

        impl Op {
            /// Every operation, in declaration order (`op as usize` is its
            /// index here).
            pub const ALL: &'static [Op] = &[$($(Op::$variant,)*)*];

            /// The operation's method name (`insert_statements`, ...).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($(Op::$variant => stringify!($method),)*)*
                }
            }
        }
    };
}

macro_rules! delegate_to_inner {
    ($($trait_:ident { $($variant:ident => $method:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* })*) => {
        $(
            #[async_trait]
            impl<L: StoreLayer> $trait_ for L {
                $(
                    async fn $method(&self, $($arg: $ty),*) -> Result<$out, StoreError> {
                        self.around(Op::$variant, self.inner().$method($($arg),*)).await
                    }
                )*
            }
        )*
    };
}

operations!(define_op);
operations!(delegate_to_inner);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_own_label_and_index() {
        let labels: std::collections::HashSet<&str> =
            Op::ALL.iter().map(|op| op.as_str()).collect();
        assert_eq!(labels.len(), Op::ALL.len());
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
        assert_eq!(Op::InsertStatements.as_str(), "insert_statements");
        assert_eq!(Op::CommitAggregate.as_str(), "commit_aggregate");
    }
}
