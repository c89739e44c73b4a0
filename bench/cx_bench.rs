//! CX metrics benchmark: query latency of every analytics metric on a large
//! synthetic state, and the aggregator's folding rate from a real store.
//!
//!   cargo run --release --example cx_bench -- index 1000000 100000
//!   cargo run --release --example cx_bench -- store 200000 20000 /tmp/cx-bench
//!
//! `index STATEMENTS LEARNERS`: builds the in-memory state from synthetic
//! facts (as the aggregator would), then times each metric for the global
//! scope and for one course, as of the end of the data and as of random
//! instants inside it. Prints insert rate, latency percentiles and RSS.
//!
//! `store STATEMENTS LEARNERS DIR`: stores statements in a fresh SQLite
//! store (through the Store trait), then times the aggregator folding the
//! log (with its persisted commits) and a restart loading the persisted
//! state.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use trellis::cx::aggregator::Aggregator;
use trellis::cx::facts::Fact;
use trellis::cx::index::Index;
use trellis::cx::metrics::{self, Period, DEFAULT_RETENTION_DAYS};
use trellis::cx::period::rfc3339;
use trellis::cx::{Cx, Settings};
use trellis::store::sqlite::SqliteStore;
use trellis::store::{NewStatement, Store};
use trellis::xapi::{JsonPath, Statement, XapiVersion};
use uuid::Uuid;

const DAY: i64 = 86_400_000_000;
const START: i64 = 1_767_225_600_000_000; // 2026-01-01
const SPAN_DAYS: i64 = 180;
const VERBS: [&str; 6] = [
    "http://adlnet.gov/expapi/verbs/experienced",
    "http://adlnet.gov/expapi/verbs/attempted",
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/passed",
    "http://adlnet.gov/expapi/verbs/answered",
    "http://adlnet.gov/expapi/verbs/progressed",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 16
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn course(c: u64) -> String {
    format!("https://bench.example.com/course/{c}")
}

/// A synthetic statement: lessons of 20 courses, course completions and
/// survey answers; timestamps over 180 days.
fn statement(rng: &mut Rng, learners: u64) -> serde_json::Value {
    let l = rng.below(learners);
    let c = rng.below(20);
    let t = START + (rng.below((SPAN_DAYS * DAY / 1000) as u64) as i64) * 1000;
    let roll = rng.below(100);
    let (verb, object, result) = if roll < 5 {
        let kind = ["nps", "csat", "ces"][rng.below(3) as usize];
        (
            VERBS[4],
            json!({"id": format!("{}/survey/{kind}", course(c)),
                "definition": {"type": format!("urn:trellis:cx:activity-type:{kind}")}}),
            json!({"score": {"raw": rng.below(11)}}),
        )
    } else if roll < 8 {
        (
            VERBS[2 + rng.below(2) as usize],
            json!({"id": course(c)}),
            json!({"score": {"scaled": rng.below(101) as f64 / 100.0}}),
        )
    } else {
        (
            VERBS[rng.below(6) as usize],
            json!({"id": format!("{}/lesson/{}", course(c), rng.below(50))}),
            json!({"completion": rng.below(4) == 0}),
        )
    };
    json!({"id": Uuid::new_v4().to_string(),
        "actor": {"mbox": format!("mailto:learner{l}@bench.example.com")},
        "verb": {"id": verb}, "object": object, "result": result,
        "context": {"contextActivities": {"parent": [{"id": course(c)}]}},
        "timestamp": rfc3339(t)})
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn percentiles(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let p = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    format!(
        "p50 {:7.3} ms  p99 {:7.3} ms  max {:7.3} ms",
        p(0.5),
        p(0.99),
        p(1.0)
    )
}

fn time_metrics(index: &Index, settings: &Settings, rounds: usize) {
    let mut rng = Rng(7);
    let end = START + SPAN_DAYS * DAY;
    let c0 = course(0);
    for (label, scope) in [("global", None), ("course", Some(c0.as_str()))] {
        let mut runs: Vec<(&str, Vec<f64>)> = Vec::new();
        let mut record = |name: &'static str, f: &mut dyn FnMut(i64)| {
            let mut times = Vec::with_capacity(rounds);
            for i in 0..rounds {
                // Half as of the end, half as of a random instant inside.
                let as_of = if i % 2 == 0 {
                    end
                } else {
                    START + (rng.below(SPAN_DAYS as u64) as i64) * DAY + 12_345
                };
                let t = Instant::now();
                f(as_of);
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            runs.push((name, times));
        };
        let a = scope.unwrap_or("https://bench.example.com/course/0");
        record("completion (cohort=week)", &mut |as_of| {
            std::hint::black_box(metrics::completion(
                index,
                settings,
                a,
                as_of,
                Some(Period::Week),
            ));
        });
        record("time-to-competency", &mut |as_of| {
            std::hint::black_box(metrics::time_to_competency(index, settings, a, as_of, 0.8));
        });
        record("retention (week cohorts)", &mut |as_of| {
            std::hint::black_box(metrics::retention(
                index,
                scope,
                as_of,
                Period::Week,
                &DEFAULT_RETENTION_DAYS,
            ));
        });
        record("engagement (week, all)", &mut |as_of| {
            std::hint::black_box(
                metrics::engagement(index, scope, as_of, Period::Week, None, None).ok(),
            );
        });
        record("activity (day, last 30 d)", &mut |as_of| {
            std::hint::black_box(
                metrics::activity(
                    index,
                    scope,
                    as_of,
                    Period::Day,
                    Some(as_of - 30 * DAY),
                    None,
                )
                .ok(),
            );
        });
        record("activity (day, all)", &mut |as_of| {
            std::hint::black_box(
                metrics::activity(index, scope, as_of, Period::Day, None, None).ok(),
            );
        });
        record("surveys (period=month)", &mut |as_of| {
            std::hint::black_box(metrics::surveys(
                index,
                settings,
                scope,
                as_of,
                Some(Period::Month),
            ));
        });
        record("time-to-first-value", &mut |as_of| {
            std::hint::black_box(metrics::time_to_first_value(index, scope, as_of));
        });
        record("churn-risk", &mut |as_of| {
            std::hint::black_box(metrics::churn_risk(
                index, settings, scope, as_of, 7, 30, 100, 0,
            ));
        });
        println!(
            "scope {label}{}:",
            scope.map(|s| format!(" ({s})")).unwrap_or_default()
        );
        for (name, times) in runs {
            println!("  {name:28} {}", percentiles(times));
        }
    }
}

fn bench_index(statements: u64, learners: u64) {
    let settings = Settings::default();
    let mut rng = Rng(42);
    let base_rss = rss_mib();
    let mut index = Index::default();
    let t = Instant::now();
    for seq in 1..=statements as i64 {
        let value = statement(&mut rng, learners);
        let stored = trellis::store::StoredStatement {
            seq,
            id: Uuid::new_v4(),
            stored_ms: START / 1000,
            voided: false,
            json: value.to_string(),
        };
        if let trellis::cx::facts::LogEntry::Counted(id, fact) =
            trellis::cx::facts::extract(&stored)
        {
            let fact: &Fact = &fact;
            index.insert(id, fact);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "built the state of {statements} statements / {learners} learners in {secs:.1} s ({:.0} statements/s, extraction included); RSS +{:.0} MiB",
        statements as f64 / secs,
        rss_mib() - base_rss
    );
    time_metrics(&index, &settings, 200);
}

async fn bench_store(statements: u64, learners: u64, dir: &str) {
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(std::path::Path::new(dir)).expect("store"));
    let mut rng = Rng(42);
    let t = Instant::now();
    let mut done = 0;
    while done < statements {
        let n = 500.min(statements - done);
        let batch: Vec<NewStatement> = (0..n)
            .map(|_| {
                let s = Statement::parse(
                    statement(&mut rng, learners),
                    XapiVersion::V2_0,
                    &JsonPath::root(),
                )
                .expect("valid");
                NewStatement::new(s, "bench".into(), true)
            })
            .collect();
        store
            .insert_statements(batch, vec![])
            .await
            .expect("stored");
        done += n;
    }
    println!(
        "stored {statements} statements in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let cx = Arc::new(Cx::new(Settings::default()));
    let mut aggregator = Aggregator::load(store.clone(), cx.clone())
        .await
        .expect("load");
    let t = Instant::now();
    aggregator.catch_up_with_log().await.expect("fold");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "aggregator folded and persisted {statements} statements in {secs:.1} s ({:.0} statements/s); RSS {:.0} MiB",
        statements as f64 / secs,
        rss_mib()
    );
    let t = Instant::now();
    let restarted = Arc::new(Cx::new(Settings::default()));
    Aggregator::load(store, restarted.clone())
        .await
        .expect("load");
    println!(
        "a restart loaded {} persisted facts in {:.1} s",
        restarted.read().facts(),
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    match args.get(1).map(String::as_str) {
        Some("store") => {
            let dir = args
                .get(4)
                .cloned()
                .unwrap_or_else(|| "/tmp/cx-bench".into());
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(bench_store(arg(2, 200_000), arg(3, 20_000), &dir));
        }
        _ => bench_index(arg(2, 1_000_000), arg(3, 100_000)),
    }
}
