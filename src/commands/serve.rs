//! `trellis serve`.

use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::startup::Application;
use crate::store::StoreSettings;

pub async fn run(store: &StoreArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::load(store, args)?;
    crate::telemetry::init(settings.log_format);
    let app = Application::build(&settings).await?;
    match &settings.store {
        StoreSettings::Mongo(m) => {
            tracing::info!(listen = %settings.http.listen, port = app.port(), database = m.database.as_deref().unwrap_or("(from the URI)"), "Trellis is serving xAPI at /xapi/ on MongoDB")
        }
        StoreSettings::Sqlite(s) => {
            tracing::info!(listen = %settings.http.listen, port = app.port(), data_dir = %s.data_dir.display(), "Trellis is serving xAPI at /xapi/")
        }
    }
    app.run_until_stopped().await?;
    Ok(())
}
