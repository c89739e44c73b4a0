//! `trellis analytics rebuild`: recomputes the CX aggregate state from the
//! stored statements (after an upgrade, or to audit the running state).

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::AnalyticsCommand;
use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::cx::aggregator::{Aggregator, CONSUMER};
use crate::cx::Cx;
use crate::store::{open_store, StatementQuery};

pub async fn run(store_args: &StoreArgs, command: &AnalyticsCommand) -> anyhow::Result<()> {
    match command {
        AnalyticsCommand::Rebuild => rebuild(store_args).await,
    }
}

async fn rebuild(store_args: &StoreArgs) -> anyhow::Result<()> {
    let settings = Settings::load(store_args, &ServeArgs::default())?;
    let store = open_store(&settings.store).await?;
    // The newest statement's log position sizes the progress bar.
    let newest = store
        .query(&StatementQuery {
            limit: 1,
            ..StatementQuery::default()
        })
        .await?
        .statements
        .first()
        .map(|s| s.seq)
        .unwrap_or(0);
    store.reset_aggregate(CONSUMER).await?;
    let cx = Arc::new(Cx::new(settings.analytics));
    let mut aggregator = Aggregator::load(store, cx.clone()).await?;
    let bar = ProgressBar::new(newest.max(0) as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} log positions ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    while aggregator.run_once().await? > 0 {
        let at = cx.checkpoint().max(0) as u64;
        if at > bar.length().unwrap_or(0) {
            bar.set_length(at);
        }
        bar.set_position(at);
    }
    bar.finish();
    println!(
        "Rebuilt the analytics state: {} counted statements up to log position {}.",
        cx.snapshot().state.counted,
        cx.checkpoint()
    );
    Ok(())
}
