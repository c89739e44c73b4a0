//! Building and running the HTTP application. `Application::build` binds its
//! own listener (port 0 works) so tests can run many servers side by side.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use crate::auth::{create_credential, Authenticator, Scope};
use crate::config::Settings;
use crate::http::{self, AppState, Limits};
use crate::store::{open_store, Store};

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let store: Arc<dyn Store> = open_store(settings).await?;
        ensure_credentials(store.as_ref()).await?;
        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let public_url = settings.public_url.clone().unwrap_or_else(|| {
            format!(
                "http://{}",
                listener
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            )
        });
        let state = web::Data::new(AppState {
            authenticator: Authenticator::new(store.clone()),
            store,
            limits: Limits {
                max_body_bytes: settings.max_body_bytes,
                max_batch: settings.max_batch,
                max_page: settings.max_page,
            },
            public_url,
            declared_versions: Default::default(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(cors())
                .configure(http::configure)
        })
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (SIGINT/SIGTERM stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Browser clients (content players) call the LRS from other origins.
fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .allow_any_method()
        .allow_any_header()
        .expose_any_header()
        .max_age(86_400)
}

/// Applies `TRELLIS_ADMIN_KEY` / `TRELLIS_ADMIN_SECRET`, and on a first
/// start with no credential at all creates one and prints it once.
async fn ensure_credentials(store: &dyn Store) -> anyhow::Result<()> {
    let key = std::env::var("TRELLIS_ADMIN_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let secret = std::env::var("TRELLIS_ADMIN_SECRET")
        .ok()
        .filter(|s| !s.is_empty());
    match (key, secret) {
        (Some(key), Some(secret)) => {
            let current = store.credential(&key).await?;
            let unchanged = current.as_ref().is_some_and(|c| {
                c.scopes == ["all"]
                    && argon2::password_hash::PasswordHash::new(&c.secret_hash).is_ok_and(|h| {
                        argon2::password_hash::PasswordVerifier::verify_password(
                            &argon2::Argon2::default(),
                            secret.as_bytes(),
                            &h,
                        )
                        .is_ok()
                    })
            });
            if !unchanged {
                create_credential(
                    store,
                    "admin",
                    vec![Scope::All],
                    Some(key.clone()),
                    Some(secret),
                )
                .await?;
            }
            tracing::info!(key, "admin credential from TRELLIS_ADMIN_KEY is active");
        }
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!("set both TRELLIS_ADMIN_KEY and TRELLIS_ADMIN_SECRET, or neither")
        }
        (None, None) => {
            if store.credentials().await?.is_empty() {
                let issued =
                    create_credential(store, "admin", vec![Scope::All], None, None).await?;
                println!(
                    "Created the first credential (scope: all). The secret is shown only once:"
                );
                println!("  key:    {}", issued.key);
                println!("  secret: {}", issued.secret);
            }
        }
    }
    Ok(())
}
