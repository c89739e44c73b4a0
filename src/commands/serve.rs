//! `trellis serve`.

use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::startup::Application;

pub async fn run(store: &StoreArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::load(store, args)?;
    crate::telemetry::init(settings.log_format);
    let app = Application::build(&settings).await?;
    match &settings.mongodb {
        Some(m) => {
            tracing::info!(listen = %settings.http.listen, port = app.port(), database = m.database.as_deref().unwrap_or("(from the URI)"), "Trellis is serving xAPI at /xapi/ on MongoDB")
        }
        None => {
            tracing::info!(listen = %settings.http.listen, port = app.port(), data_dir = %settings.data_dir.display(), "Trellis is serving xAPI at /xapi/")
        }
    }
    app.run_until_stopped().await?;
    Ok(())
}
