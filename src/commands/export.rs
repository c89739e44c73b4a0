//! `trellis export`.

use std::io::Write;

use anyhow::Context as _;
use indicatif::ProgressBar;

use crate::cli::ExportArgs;
use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::store::{open_store, StatementQuery};
use crate::transfer::export::{export, ExportFilter};
use crate::xapi::datatypes::parse_timestamp;
use crate::xapi::params::{iri_param, parse_agent_param, parse_uuid_param, AgentParam};
use crate::xapi::XapiVersion;

pub async fn run(store_args: &StoreArgs, args: &ExportArgs) -> anyhow::Result<()> {
    let settings = Settings::load(store_args, &ServeArgs::default())?;
    let filter = filter(args)?;
    let store = open_store(&settings.store).await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    let written = export(store.as_ref(), &filter, &mut out, &mut |n| {
        bar.set_message(format!("{n} statements"));
        bar.tick();
    })
    .await?;
    bar.finish_and_clear();
    if !args.quiet {
        eprintln!("exported {written} statements");
    }
    Ok(())
}

/// The query of the flags, or none (the whole log) without filters.
fn filter(args: &ExportArgs) -> anyhow::Result<ExportFilter> {
    let mut q = StatementQuery::default();
    if let Some(agent) = &args.agent {
        q.agent = Some(parse_agent_param(agent, AgentParam::AgentOrGroup)?);
    }
    if let Some(verb) = &args.verb {
        q.verb = Some(iri_param("verb", verb)?);
    }
    if let Some(activity) = &args.activity {
        q.activity = Some(iri_param("activity", activity)?);
    }
    if let Some(registration) = &args.registration {
        q.registration = Some(parse_uuid_param("registration", registration)?.to_string());
    }
    for (name, value, slot) in [
        ("since", &args.since, &mut q.since_ms),
        ("until", &args.until, &mut q.until_ms),
    ] {
        if let Some(value) = value {
            let t = parse_timestamp(value, XapiVersion::V2_0)
                .with_context(|| format!("--{name} must be an RFC 3339 timestamp"))?;
            *slot = Some(t.timestamp_millis());
        }
    }
    q.related_agents = args.related_agents;
    q.related_activities = args.related_activities;
    q.ascending = args.ascending;
    let unfiltered = q == StatementQuery::default();
    Ok(ExportFilter {
        query: (!unfiltered).then_some(q),
        limit: args.limit,
    })
}
