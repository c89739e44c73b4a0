//! `trellis import FILE...`.

use std::io::Read;
use std::sync::Arc;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ImportArgs;
use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::store::open_store;
use crate::transfer::import::{import_authority, ImportOptions, Importer};
use crate::transfer::source::{self, Record};
use crate::xapi::XapiVersion;

/// The most records validated together (on every core) before they are
/// batched.
const CHUNK: usize = 4096;

/// Reads (and parses) the records of `reader` on a thread of its own, so
/// that reading overlaps validation; a failure to read ends the stream.
fn read_on_a_thread(
    reader: Box<dyn Read + Send>,
) -> tokio::sync::mpsc::Receiver<std::io::Result<Record>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2 * CHUNK);
    std::thread::spawn(move || {
        let records = match source::records(reader) {
            Ok(records) => records,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        for record in records {
            let failed = record.is_err();
            // The receiver is gone when the import stopped: so do we.
            if tx.blocking_send(record).is_err() || failed {
                return;
            }
        }
    });
    rx
}

pub async fn run(store_args: &StoreArgs, args: &ImportArgs) -> anyhow::Result<()> {
    let settings = Settings::load(
        store_args,
        &ServeArgs {
            public_url: args.public_url.clone(),
            ..ServeArgs::default()
        },
    )?;
    let version = XapiVersion::parse_header(&args.xapi_version).with_context(|| {
        format!(
            "--xapi-version must be 1.0.3 or 2.0.0, not {}",
            args.xapi_version
        )
    })?;
    anyhow::ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    let home_page = settings.http.public_url_or(&settings.http.listen);
    let options = ImportOptions {
        version,
        fallback: (args.fallback_1_0_3 && version == XapiVersion::V2_0)
            .then_some(XapiVersion::V1_0),
        batch_size: args.batch_size,
        authority: import_authority(&home_page),
    };
    let store = open_store(&settings.store).await?;
    let mut importer = Importer::new(Arc::clone(&store), options);
    let started = std::time::Instant::now();
    for path in &args.files {
        let name = path.display().to_string();
        let (reader, size): (Box<dyn Read + Send>, u64) = if name == "-" {
            (Box::new(std::io::stdin()), 0)
        } else {
            let file = std::fs::File::open(path).with_context(|| format!("opening {name}"))?;
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            (Box::new(file), size)
        };
        let bar = if args.quiet {
            ProgressBar::hidden()
        } else if size > 0 {
            ProgressBar::new(size).with_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            )
        } else {
            ProgressBar::new_spinner()
        };
        bar.set_message(name.clone());
        let mut records = read_on_a_thread(reader);
        let mut chunk = Vec::with_capacity(CHUNK);
        while let Some(first) = records.recv().await {
            chunk.push(first);
            // What has been read already, without waiting for more: a
            // slow source (a pipe) is stored as it comes.
            while chunk.len() < CHUNK {
                match records.try_recv() {
                    Ok(record) => chunk.push(record),
                    Err(_) => break,
                }
            }
            let records = std::mem::take(&mut chunk)
                .into_iter()
                .collect::<std::io::Result<Vec<_>>>()
                .with_context(|| format!("reading {name}"))?;
            if let Some(last) = records.last() {
                bar.set_position(last.offset);
            }
            importer.push_all(&name, records).await.with_context(|| {
                format!("storing statements of {name}; run the same import again to resume")
            })?;
        }
        importer.flush().await.with_context(|| {
            format!("storing statements of {name}; run the same import again to resume")
        })?;
        bar.finish_and_clear();
    }
    let report = &importer.report;
    for rejected in &report.rejected {
        eprintln!(
            "rejected {}:{}: {}",
            rejected.file, rejected.location, rejected.reason
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "read {} statements: {} stored (new or already present), {} rejected, in {:.1} s ({:.0} statements/s)",
        report.read,
        report.stored,
        report.rejected.len(),
        seconds,
        report.read as f64 / seconds.max(1e-9)
    );
    if !report.rejected.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
