//! `trellis credentials create | list | revoke`.

use serde_json::json;

use crate::auth::{create_credential, Scope};
use crate::cli::CredentialsCommand;
use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::store::open_store;

pub async fn run(store_args: &StoreArgs, command: &CredentialsCommand) -> anyhow::Result<()> {
    let settings = Settings::load(store_args, &ServeArgs::default())?;
    let store = open_store(&settings.store).await?;
    let store = store.as_ref();
    match command {
        CredentialsCommand::Create { name, scopes, json } => {
            let scopes = Scope::parse_list(scopes).map_err(anyhow::Error::msg)?;
            let issued = create_credential(store, name, scopes, None, None).await?;
            let scopes: Vec<&str> = issued.scopes.iter().map(|s| s.as_str()).collect();
            if *json {
                println!(
                    "{}",
                    json!({"key": issued.key, "secret": issued.secret, "name": issued.name, "scopes": scopes})
                );
            } else {
                println!(
                    "key:    {}\nsecret: {}\nname:   {}\nscopes: {}",
                    issued.key,
                    issued.secret,
                    issued.name,
                    scopes.join(",")
                );
                println!("The secret is shown only once.");
            }
        }
        CredentialsCommand::List { json } => {
            let list = store.credentials().await?;
            if *json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|c| json!({"key": c.key, "name": c.name, "scopes": c.scopes, "created": c.created}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for c in list {
                    println!(
                        "{}\t{}\t{}\t{}",
                        c.key,
                        c.name,
                        c.scopes.join(","),
                        c.created
                    );
                }
            }
        }
        CredentialsCommand::Revoke { key } => {
            anyhow::ensure!(
                store.revoke_credential(key).await?,
                "no credential with key {key}"
            );
            println!("revoked {key}");
        }
    }
    Ok(())
}
