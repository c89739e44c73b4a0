//! `trellis simulate`: generate the population, then write JSON lines or
//! post batches to an xAPI endpoint with a progress bar and a summary.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::SimulateArgs;
use crate::client::XapiClient;
use crate::simulate::{Params, Simulation};

pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.days > 0, "--days must be at least 1");
    anyhow::ensure!(args.courses > 0, "--courses must be at least 1");
    anyhow::ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let start = match args.start {
        Some(start) => start,
        None => chrono::Utc::now().date_naive() - chrono::Days::new(args.days as u64),
    };
    let params = Params {
        seed: args.seed,
        learners: args.learners,
        courses: args.courses,
        days: args.days,
        start,
    };
    let simulation = Simulation::generate(&params);
    let total = args
        .max_statements
        .map_or(simulation.len(), |m| m.min(simulation.len()));
    let lines = simulation.statements().take(total).map(|s| s.to_string());
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64).with_style(
            ProgressStyle::with_template(
                "[{elapsed_precise}] [{bar:40}] {pos}/{len} statements ({per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let started = Instant::now();
    let summary = match &args.endpoint {
        Some(endpoint) => {
            let client = XapiClient::new(
                endpoint,
                args.user.as_deref(),
                args.password.as_deref(),
                &args.xapi_version,
            );
            post(&client, lines, args, &bar)
        }
        None => {
            let mut out: Box<dyn Write> = match &args.output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            for line in lines {
                writeln!(out, "{line}")?;
                bar.inc(1);
            }
            out.flush()?;
            Summary {
                sent: total,
                failed: 0,
                errors: Vec::new(),
            }
        }
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} {} statements ({} learners, {} courses, {} days from {start}, seed {}) in {seconds:.1} s: {:.0} statements/s, {} errors",
        if args.endpoint.is_some() { "sent" } else { "wrote" },
        summary.sent,
        args.learners,
        args.courses,
        args.days,
        args.seed,
        summary.sent as f64 / seconds.max(1e-9),
        summary.failed
    );
    let tally = simulation.tally(total);
    eprintln!(
        "  of which {} purchases ({} malformed), {} refunds, {} with an experiment exposure, {} voiding",
        tally.purchases, tally.invalid, tally.refunds, tally.exposures, tally.voids
    );
    for error in &summary.errors {
        eprintln!("  error: {error}");
    }
    anyhow::ensure!(
        summary.failed == 0,
        "{} statements were not accepted",
        summary.failed
    );
    Ok(())
}

struct Summary {
    sent: usize,
    failed: usize,
    /// The first few error messages.
    errors: Vec<String>,
}

/// Posts batches from `concurrency` threads. Batches go out in time order,
/// so a voiding statement is normally sent after its target; with several
/// requests in flight it may overtake it, which an LRS must accept.
fn post(
    client: &XapiClient,
    lines: impl Iterator<Item = String>,
    args: &SimulateArgs,
    bar: &ProgressBar,
) -> Summary {
    let sent = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let (tx, rx) = mpsc::sync_channel::<(usize, String)>(args.concurrency * 2);
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| {
        for _ in 0..args.concurrency {
            scope.spawn(|| loop {
                let next = rx.lock().map(|r| r.recv());
                let Ok(Ok((count, body))) = next else { break };
                match client.post_statements(&body) {
                    Ok(()) => {
                        sent.fetch_add(count, Ordering::Relaxed);
                    }
                    Err(e) => {
                        failed.fetch_add(count, Ordering::Relaxed);
                        if let Ok(mut list) = errors.lock() {
                            if list.len() < 5 {
                                list.push(e);
                            }
                        }
                    }
                }
                bar.inc(count as u64);
            });
        }
        let mut batch = String::from("[");
        let mut count = 0;
        for line in lines {
            if count > 0 {
                batch.push(',');
            }
            batch.push_str(&line);
            count += 1;
            if count == args.batch_size {
                batch.push(']');
                if tx
                    .send((count, std::mem::replace(&mut batch, "[".into())))
                    .is_err()
                {
                    break;
                }
                count = 0;
            }
        }
        if count > 0 {
            batch.push(']');
            let _ = tx.send((count, batch));
        }
        drop(tx);
    });
    Summary {
        sent: sent.into_inner(),
        failed: failed.into_inner(),
        errors: errors.into_inner().unwrap_or_default(),
    }
}
