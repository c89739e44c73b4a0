//! Configuration layering. Each subsystem owns its settings, their
//! defaults and their checks (`http::Settings`, `cx::Settings`,
//! `telemetry::LogFormat`, `shutdown::Settings`, the store's); this module
//! only reads the layers and combines them: the subsystem's defaults, then
//! an optional TOML file (`--config`), then `TRELLIS_*` environment
//! variables, then command-line flags (clap merges the last two, flags
//! winning). Only the program (`cli`, `commands`, `startup`) uses it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde::Deserialize;

use crate::store::mongo::MongoSettings;
use crate::store::sqlite::SqliteSettings;
use crate::store::StoreSettings;
use crate::telemetry::LogFormat;
use crate::{cx, http, shutdown};

/// Settings shared by every subcommand that opens the store.
#[derive(Debug, Clone, Args, Default)]
pub struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "TRELLIS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Directory of the embedded store [default: ./trellis-data].
    #[arg(long, env = "TRELLIS_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// MongoDB connection string; selects the MongoDB backend instead of
    /// the embedded store (e.g. mongodb://db1,db2,db3/trellis?replicaSet=rs0).
    #[arg(long, env = "TRELLIS_MONGODB_URI", global = true)]
    pub mongodb_uri: Option<String>,
    /// MongoDB database [default: the one in the URI, else trellis].
    #[arg(long, env = "TRELLIS_MONGODB_DATABASE", global = true)]
    pub mongodb_database: Option<String>,
    /// MongoDB write concern: majority or a number of nodes [default: majority].
    #[arg(long, env = "TRELLIS_MONGODB_WRITE_CONCERN", global = true)]
    pub mongodb_write_concern: Option<String>,
    /// Whether MongoDB writes wait for the journal [default: true].
    #[arg(long, env = "TRELLIS_MONGODB_JOURNAL", global = true)]
    pub mongodb_journal: Option<bool>,
}

/// Settings of `trellis serve`.
#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TRELLIS_LISTEN")]
    pub listen: Option<String>,
    /// Largest accepted request body in bytes [default: 10485760].
    #[arg(long, env = "TRELLIS_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Most statements accepted in one request [default: 1000].
    #[arg(long, env = "TRELLIS_MAX_BATCH")]
    pub max_batch: Option<usize>,
    /// Most statements returned in one page of a query [default: 1000].
    #[arg(long, env = "TRELLIS_MAX_PAGE")]
    pub max_page: Option<usize>,
    /// Most bytes of statements in one page of a query [default: 16777216].
    #[arg(long, env = "TRELLIS_MAX_PAGE_BYTES")]
    pub max_page_bytes: Option<usize>,
    /// Seconds a request body may send nothing before it is dropped
    /// [default: 30].
    #[arg(long, env = "TRELLIS_BODY_STALL_TIMEOUT_SECS")]
    pub body_stall_timeout_secs: Option<u64>,
    /// xAPI 1.0.3: create a new profile document on a PUT without
    /// If-Match/If-None-Match (xAPI.js does this) instead of answering 400
    /// (the ADL suite expects 400).
    #[arg(long, env = "TRELLIS_ALLOW_PROFILE_PUT_WITHOUT_PRECONDITION")]
    pub allow_profile_put_without_precondition: bool,
    /// Base URL clients reach this server at (used in statement authorities)
    /// [default: http://LISTEN].
    #[arg(long, env = "TRELLIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Log format: pretty or json [default: pretty].
    #[arg(long, env = "TRELLIS_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Seconds a shutdown waits for requests in flight and background tasks
    /// [default: 30].
    #[arg(long, env = "TRELLIS_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<u64>,
    /// Comma-separated verb IRIs that complete an Activity
    /// [default: completed, passed, satisfied].
    #[arg(long, env = "TRELLIS_ANALYTICS_COMPLETION_VERBS")]
    pub analytics_completion_verbs: Option<String>,
    /// Default competency threshold on result.score.scaled [default: 0.8].
    #[arg(long, env = "TRELLIS_ANALYTICS_COMPETENCY_THRESHOLD")]
    pub analytics_competency_threshold: Option<f64>,
    /// Comma-separated Activity IRIs always exported to Prometheus.
    #[arg(long, env = "TRELLIS_ANALYTICS_EXPORTED_ACTIVITIES")]
    pub analytics_exported_activities: Option<String>,
    /// How many Activities with the most enrolled learners are exported to
    /// Prometheus besides the listed ones [default: 10].
    #[arg(long, env = "TRELLIS_ANALYTICS_EXPORT_TOP")]
    pub analytics_export_top: Option<usize>,
}

/// The `[analytics]` table of the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAnalytics {
    completion_verbs: Option<Vec<String>>,
    competency_threshold: Option<f64>,
    competency_thresholds: Option<BTreeMap<String, f64>>,
    survey_types: Option<BTreeMap<String, String>>,
    exported_activities: Option<Vec<String>>,
    export_top: Option<usize>,
}

/// The optional TOML file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    max_batch: Option<usize>,
    max_page: Option<usize>,
    max_page_bytes: Option<usize>,
    body_stall_timeout_secs: Option<u64>,
    allow_profile_put_without_precondition: Option<bool>,
    public_url: Option<String>,
    log_format: Option<String>,
    mongodb_uri: Option<String>,
    mongodb_database: Option<String>,
    mongodb_write_concern: Option<String>,
    mongodb_journal: Option<bool>,
    shutdown_timeout: Option<u64>,
    #[serde(default)]
    analytics: FileAnalytics,
}

fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The CX settings: defaults, then the `[analytics]` table, then flags.
fn analytics_settings(file: FileAnalytics, serve: &ServeArgs) -> anyhow::Result<cx::Settings> {
    let d = cx::Settings::default();
    let survey_types = cx::Settings::parse_survey_types(file.survey_types.unwrap_or_default())
        .context("analytics")?;
    let settings = cx::Settings {
        completion_verbs: serve
            .analytics_completion_verbs
            .as_deref()
            .map(comma_list)
            .or(file.completion_verbs)
            .unwrap_or(d.completion_verbs),
        competency_threshold: serve
            .analytics_competency_threshold
            .or(file.competency_threshold)
            .unwrap_or(d.competency_threshold),
        competency_thresholds: file.competency_thresholds.unwrap_or_default(),
        survey_types,
        exported_activities: serve
            .analytics_exported_activities
            .as_deref()
            .map(comma_list)
            .or(file.exported_activities)
            .unwrap_or(d.exported_activities),
        export_top: serve
            .analytics_export_top
            .or(file.export_top)
            .unwrap_or(d.export_top),
    };
    settings.validate().context("analytics")?;
    Ok(settings)
}

/// The HTTP server's settings: defaults, then the file, then flags.
fn http_settings(file: &FileSettings, serve: &ServeArgs) -> anyhow::Result<http::Settings> {
    let d = http::Settings::default();
    let settings = http::Settings {
        listen: serve
            .listen
            .clone()
            .or_else(|| file.listen.clone())
            .unwrap_or(d.listen),
        limits: http::Limits {
            max_body_bytes: serve
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(d.limits.max_body_bytes),
            max_batch: serve
                .max_batch
                .or(file.max_batch)
                .unwrap_or(d.limits.max_batch),
            max_page: serve
                .max_page
                .or(file.max_page)
                .unwrap_or(d.limits.max_page),
            max_page_bytes: serve
                .max_page_bytes
                .or(file.max_page_bytes)
                .unwrap_or(d.limits.max_page_bytes),
            body_stall_timeout: serve
                .body_stall_timeout_secs
                .or(file.body_stall_timeout_secs)
                .map_or(d.limits.body_stall_timeout, std::time::Duration::from_secs),
            allow_profile_put_without_precondition: serve.allow_profile_put_without_precondition
                || file.allow_profile_put_without_precondition.unwrap_or(false),
        },
        public_url: serve.public_url.clone().or_else(|| file.public_url.clone()),
    };
    settings.validate()?;
    Ok(settings)
}

/// Everything a command needs, each part owned by its subsystem.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The backend and its settings: MongoDB when a URI is set, otherwise
    /// the embedded store in the data directory.
    pub store: StoreSettings,
    pub http: http::Settings,
    pub log_format: LogFormat,
    pub shutdown: shutdown::Settings,
    pub analytics: cx::Settings,
}

impl Settings {
    pub fn load(store: &StoreArgs, serve: &ServeArgs) -> anyhow::Result<Settings> {
        let file = match &store.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let log_format = match serve.log_format.as_deref().or(file.log_format.as_deref()) {
            Some(format) => LogFormat::parse(format)?,
            None => LogFormat::default(),
        };
        let shutdown = match serve.shutdown_timeout.or(file.shutdown_timeout) {
            Some(secs) => shutdown::Settings {
                timeout: Duration::from_secs(secs),
            },
            None => shutdown::Settings::default(),
        };
        Ok(Settings {
            http: http_settings(&file, serve)?,
            log_format,
            shutdown,
            store: store_settings(store, &file),
            analytics: analytics_settings(file.analytics, serve)?,
        })
    }
}

/// The backend: MongoDB when a URI is set (flag, variable or file),
/// otherwise the embedded store in the data directory.
fn store_settings(args: &StoreArgs, file: &FileSettings) -> StoreSettings {
    match args
        .mongodb_uri
        .clone()
        .or_else(|| file.mongodb_uri.clone())
    {
        Some(uri) => {
            let mut m = MongoSettings::new(uri);
            m.database = args
                .mongodb_database
                .clone()
                .or_else(|| file.mongodb_database.clone());
            if let Some(w) = args
                .mongodb_write_concern
                .clone()
                .or_else(|| file.mongodb_write_concern.clone())
            {
                m.write_concern = w;
            }
            if let Some(j) = args.mongodb_journal.or(file.mongodb_journal) {
                m.journal = j;
            }
            StoreSettings::Mongo(m)
        }
        None => StoreSettings::Sqlite(SqliteSettings {
            data_dir: args
                .data_dir
                .clone()
                .or_else(|| file.data_dir.clone())
                .unwrap_or_else(|| SqliteSettings::default().data_dir),
        }),
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cx::metrics::SurveyKind;

    fn sqlite_in(dir: &str) -> StoreSettings {
        StoreSettings::Sqlite(SqliteSettings {
            data_dir: PathBuf::from(dir),
        })
    }

    #[test]
    fn defaults_apply_without_any_setting() {
        let s = Settings::load(&StoreArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!(s.http.listen, "127.0.0.1:8080");
        assert_eq!(s.store, sqlite_in("./trellis-data"));
        assert_eq!(s.http.limits.max_batch, 1000);
        assert_eq!(s.http.public_url, None);
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.shutdown.timeout, Duration::from_secs(30));
        assert_eq!(s.analytics, cx::Settings::default());
    }

    #[test]
    fn the_shutdown_timeout_comes_from_the_file_unless_a_flag_sets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trellis.toml");
        std::fs::write(&path, "shutdown_timeout = 5\n").unwrap();
        let store = StoreArgs {
            config: Some(path),
            ..StoreArgs::default()
        };
        let from_file = Settings::load(&store, &ServeArgs::default()).unwrap();
        assert_eq!(from_file.shutdown.timeout, Duration::from_secs(5));
        let flag = ServeArgs {
            shutdown_timeout: Some(12),
            ..ServeArgs::default()
        };
        assert_eq!(
            Settings::load(&store, &flag).unwrap().shutdown.timeout,
            Duration::from_secs(12)
        );
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trellis.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\nmax_batch = 50\ndata_dir = \"/srv/x\"\n",
        )
        .unwrap();
        let store = StoreArgs {
            config: Some(path),
            ..StoreArgs::default()
        };
        let serve = ServeArgs {
            listen: Some("127.0.0.1:7000".into()),
            ..ServeArgs::default()
        };
        let s = Settings::load(&store, &serve).unwrap();
        assert_eq!(s.http.listen, "127.0.0.1:7000");
        assert_eq!(s.http.limits.max_batch, 50);
        assert_eq!(s.store, sqlite_in("/srv/x"));
    }

    #[test]
    fn a_mongodb_uri_selects_the_mongodb_backend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trellis.toml");
        std::fs::write(
            &path,
            "mongodb_uri = \"mongodb://db/x\"\nmongodb_write_concern = \"2\"\n",
        )
        .unwrap();
        let store = StoreArgs {
            config: Some(path),
            mongodb_database: Some("lrs".into()),
            ..StoreArgs::default()
        };
        let s = Settings::load(&store, &ServeArgs::default()).unwrap();
        let StoreSettings::Mongo(m) = s.store else {
            panic!("mongodb not selected: {:?}", s.store);
        };
        assert_eq!(m.uri, "mongodb://db/x");
        assert_eq!(m.database.as_deref(), Some("lrs"));
        assert_eq!(m.write_concern, "2");
        assert!(m.journal);
        let embedded = Settings::load(&StoreArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!(embedded.store, sqlite_in("./trellis-data"));
    }

    #[test]
    fn analytics_settings_come_from_the_file_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trellis.toml");
        std::fs::write(
            &path,
            "[analytics]\ncompletion_verbs = [\"http://v/done\"]\ncompetency_threshold = 0.7\n\
             export_top = 3\n[analytics.competency_thresholds]\n\"http://course\" = 0.9\n\
             [analytics.survey_types]\n\"http://t/nps\" = \"nps\"\n",
        )
        .unwrap();
        let store = StoreArgs {
            config: Some(path.clone()),
            ..StoreArgs::default()
        };
        let serve = ServeArgs {
            analytics_export_top: Some(5),
            ..ServeArgs::default()
        };
        let a = Settings::load(&store, &serve).unwrap().analytics;
        assert_eq!(a.completion_verbs, ["http://v/done"]);
        assert_eq!(a.competency_threshold, 0.7);
        assert_eq!(a.competency_thresholds["http://course"], 0.9);
        assert_eq!(a.survey_types["http://t/nps"], SurveyKind::Nps);
        assert_eq!(a.export_top, 5);
        std::fs::write(&path, "[analytics.survey_types]\n\"http://t\" = \"xyz\"\n").unwrap();
        assert!(Settings::load(&store, &ServeArgs::default()).is_err());
        let defaults = Settings::load(&StoreArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!(defaults.analytics, cx::Settings::default());
    }

    #[test]
    fn each_subsystem_checks_its_own_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trellis.toml");
        let store = StoreArgs {
            config: Some(path.clone()),
            ..StoreArgs::default()
        };
        for (file, complaint) in [
            ("max_batch = 0\n", "max_batch"),
            ("max_body_bytes = 100\n", "max_body_bytes"),
            ("log_format = \"text\"\n", "log format"),
            (
                "[analytics]\ncompetency_threshold = 1.5\n",
                "competency_threshold",
            ),
            (
                "[analytics.competency_thresholds]\n\"http://c\" = -2\n",
                "http://c",
            ),
        ] {
            std::fs::write(&path, file).unwrap();
            let error = format!(
                "{:#}",
                Settings::load(&store, &ServeArgs::default()).unwrap_err()
            );
            assert!(error.contains(complaint), "{file:?}: {error}");
        }
        std::fs::write(&path, "log_format = \"text\"\n").unwrap();
        let json = ServeArgs {
            log_format: Some("json".into()),
            ..ServeArgs::default()
        };
        assert_eq!(
            Settings::load(&store, &json).unwrap().log_format,
            LogFormat::Json,
            "the flag wins over the file"
        );
    }

    #[test]
    fn unknown_file_keys_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trellis.toml");
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        let store = StoreArgs {
            config: Some(path),
            ..StoreArgs::default()
        };
        assert!(Settings::load(&store, &ServeArgs::default()).is_err());
    }
}
