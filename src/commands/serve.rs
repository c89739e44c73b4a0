//! `trellis serve`.

use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::startup::Application;

pub async fn run(store: &StoreArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::load(store, args)?;
    crate::telemetry::init(settings.json_logs);
    let app = Application::build(&settings).await?;
    // `address` is the bound address (the real port when `--listen` asked
    // for port 0): the black-box tests and conformance-tests/ read it from
    // this line, with the filter `trellis::commands::serve=info`.
    let address = app.address();
    match &settings.mongodb {
        Some(m) => {
            tracing::info!(%address, database = m.database.as_deref().unwrap_or("(from the URI)"), "Trellis is serving xAPI at /xapi/ on MongoDB")
        }
        None => {
            tracing::info!(%address, data_dir = %settings.data_dir.display(), "Trellis is serving xAPI at /xapi/")
        }
    }
    app.run_until_stopped().await?;
    Ok(())
}
