//! `trellis export`: stored statements as JSON lines, exactly as stored.
//!
//! Without filters the whole log is written in `stored` order, voided
//! statements included, so that export then import copies a store without
//! loss. With filters the selection follows the statement query of
//! `GET /statements` (voided statements are left out, newest first unless
//! `ascending`).

use std::io::Write;

use crate::store::{StatementQuery, Store, StoreError};

const PAGE: usize = 1000;

/// What to export; `None` is the whole log.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub query: Option<StatementQuery>,
    /// At most this many statements.
    pub limit: Option<usize>,
}

/// Writes the selected statements, one JSON object per line; calls
/// `progress` with the running count. Returns the number written.
pub async fn export(
    store: &dyn Store,
    filter: &ExportFilter,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> Result<usize, ExportError> {
    let limit = filter.limit.unwrap_or(usize::MAX);
    let mut written = 0usize;
    match &filter.query {
        None => {
            let mut after = 0;
            while written < limit {
                let page = store.log_after(after, PAGE.min(limit - written)).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for s in &page {
                    writeln!(out, "{}", s.json)?;
                }
                written += page.len();
                progress(written);
            }
        }
        Some(query) => {
            let mut query = query.clone();
            loop {
                query.limit = PAGE.min(limit - written);
                if query.limit == 0 {
                    break;
                }
                let page = store.query(&query).await?;
                for s in &page.statements {
                    writeln!(out, "{}", s.json)?;
                }
                written += page.statements.len();
                progress(written);
                match page.next {
                    Some(cursor) if !page.statements.is_empty() => {
                        query.after_seq = Some(cursor.after_seq);
                        query.snapshot_seq = Some(cursor.snapshot_seq);
                    }
                    _ => break,
                }
            }
        }
    }
    out.flush()?;
    Ok(written)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}
