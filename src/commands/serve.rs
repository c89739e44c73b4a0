//! `trellis serve`.

use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::startup::Application;
use crate::store::StoreSettings;

pub async fn run(store: &StoreArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::load(store, args)?;
    crate::telemetry::init(settings.log_format);
    let app = Application::build(&settings).await?;
    // `address` is the bound address (the real port when `--listen` asked
    // for port 0): the black-box tests and conformance-tests/ read it from
    // this line, with the filter `trellis::commands::serve=info`.
    let address = app.address();
    match &settings.store {
        StoreSettings::Mongo(m) => {
            tracing::info!(%address, database = m.database.as_deref().unwrap_or("(from the URI)"), "Trellis is serving xAPI at /xapi/ on MongoDB")
        }
        StoreSettings::Sqlite(s) => {
            tracing::info!(%address, data_dir = %s.data_dir.display(), "Trellis is serving xAPI at /xapi/")
        }
    }
    app.run_until_stopped().await?;
    Ok(())
}
