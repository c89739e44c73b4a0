//! CX analytics benchmark harness (see BENCHMARKS.md, "CX analytics").
//!
//!   cargo run --release --example cx_bench -- state FILE.jsonl [COURSE]
//!   cargo run --release --example cx_bench -- fold DIR
//!   cargo run --release --example cx_bench -- load DIR
//!   cargo run --release --example cx_bench -- http URL KEY SECRET COURSE [REQUESTS]
//!   cargo run --release --example cx_bench -- reflect URL KEY SECRET [RATE] [SECONDS]
//!
//! `state FILE.jsonl`: builds the state in this process from a file of
//! statements (as `trellis simulate -o` writes them; no store), then times
//! every metric function on it, global and for the largest course, as of
//! the end of the data and as of instants inside it (the work of one
//! request without HTTP), and the snapshot encoding and load.
//! `fold DIR`: on a store directory (a COPY: it is written), rebuilds the
//! analytics state from the whole log (aggregator throughput, persisted
//! commits included), then loads it again as a restart does (load time).
//! `load DIR`: the restart's load alone (a COPY too).
//! `http`: every `/analytics/v1/*` request shape, global and for COURSE, as
//! of now and as of instants in the past, from 4 connections, REQUESTS each
//! (default 200); then `/metrics` scrapes. Prints p50 / p99 per shape.
//! `reflect`: posts RATE statements/s (default 5000) for SECONDS (default
//! 30) and, every 200 ms, a probe statement on a fresh Activity; measures
//! from the probe's acknowledgement until `/analytics/v1/activity` shows it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trellis::cx::aggregator::{Aggregator, CONSUMER};
use trellis::cx::{Cx, Settings};
use trellis::store::sqlite::SqliteStore;
use trellis::store::Store;

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let p = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    (p(0.5), p(0.99))
}

fn rss_mib(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn fold(dir: &str) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(std::path::Path::new(dir)).unwrap());
    store.reset_aggregate(CONSUMER).await.unwrap();
    let cx = Arc::new(Cx::new(Settings::default()));
    let mut aggregator = Aggregator::load(store.clone(), cx.clone()).await.unwrap();
    let t = Instant::now();
    aggregator.catch_up_with_log().await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    let n = cx.snapshot().state.counted;
    println!(
        "fold: {n} counted statements to log position {} in {secs:.1} s: {:.0} statements/s; RSS {:.0} MiB",
        cx.checkpoint(),
        n as f64 / secs,
        rss_mib("self")
    );
    drop(aggregator);
    drop(cx);
    let cx = Arc::new(Cx::new(Settings::default()));
    let t = Instant::now();
    Aggregator::load(store, cx.clone()).await.unwrap();
    println!(
        "restart load: {} statements in {:.2} s",
        cx.snapshot().state.counted,
        t.elapsed().as_secs_f64()
    );
}

/// A restart's load alone: the persisted records of a store (a COPY: the
/// load may rewrite records of another format).
async fn load(dir: &str) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(std::path::Path::new(dir)).unwrap());
    let cx = Arc::new(Cx::new(Settings::default()));
    let t = Instant::now();
    Aggregator::load(store, cx.clone()).await.unwrap();
    println!(
        "load: {} statements at log position {} in {:.2} s; RSS {:.0} MiB",
        cx.snapshot().state.counted,
        cx.checkpoint(),
        t.elapsed().as_secs_f64(),
        rss_mib("self")
    );
}

fn state_bench(file: &str, course: &str) {
    use std::io::BufRead;
    use trellis::cx::facts::{extract, LogEntry};
    use trellis::cx::metrics::{self, Period};
    use trellis::cx::state::State;
    use trellis::store::StoredStatement;
    let settings = Arc::new(Settings::default());
    let mut state = State::new(settings.clone());
    let reader = std::io::BufReader::new(std::fs::File::open(file).unwrap());
    let t = Instant::now();
    let mut parse = Duration::ZERO;
    let mut max_time = i64::MIN;
    for (i, line) in reader.lines().enumerate() {
        let stored = StoredStatement {
            seq: i as i64 + 1,
            id: uuid::Uuid::nil(),
            stored_ms: 1_780_000_000_000,
            voided: false,
            json: line.unwrap(),
        };
        let p = Instant::now();
        let entry = extract(&stored);
        parse += p.elapsed();
        if let LogEntry::Counted(f) = entry {
            max_time = max_time.max(f.time);
            state.insert(&f);
        }
        if i % 100_000 == 99_999 {
            // A snapshot is published this often while catching up.
            std::hint::black_box(state.clone());
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "built: {} statements in {secs:.1} s ({:.0}/s; JSON extraction {:.1} s), {} learners, {} scopes; RSS {:.0} MiB",
        state.counted,
        state.counted as f64 / secs,
        parse.as_secs_f64(),
        state.learners.len(),
        state.scopes.len(),
        rss_mib("self")
    );
    let (mut rows, mut answers, mut days, mut verbs) = (0, 0, 0, 0);
    for scope in state.scopes.iter() {
        rows += scope.rows.len();
        answers += scope.answers.len();
        days += scope.days.len() + scope.weeks.len() + scope.months.len();
        verbs += scope.verbs.len();
    }
    let (mut entries, mut extras, mut members) = (0, 0, 0);
    for l in state.learners.iter() {
        entries += l.entries.len();
        extras += l.extras.len();
        members += l.members.len();
    }
    println!(
        "held: {entries} learner entries, {extras} scores, {rows} scope rows ({members} memberships), \
         {answers} scope answers, {days} period counts, {verbs} day-verb counts"
    );
    let t = Instant::now();
    let records = trellis::cx::record::snapshot_records(&state, 1);
    let bytes: usize = records.iter().map(|r| r.1.len()).sum();
    println!(
        "snapshot: {} records, {:.1} MiB, encoded in {:.2} s",
        records.len(),
        bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let loaded = trellis::cx::record::load(settings, &records).unwrap();
    println!(
        "load: {} statements in {:.2} s",
        loaded.state.counted,
        t.elapsed().as_secs_f64()
    );
    drop(loaded);
    drop(records);
    // The course asked for, else the largest activity scope by learners.
    let course = if course.is_empty() {
        (1..state.scopes.len())
            .max_by_key(|&i| state.scopes.get(i).map_or(0, |s| s.rows.len()))
            .map(|i| state.scope_names.name(i as u32).to_owned())
            .unwrap_or_default()
    } else {
        course.to_owned()
    };
    println!("course scope: {course}");
    let day = 86_400_000_000i64;
    let mut seed = 7u64;
    for (label, scope) in [("global", None), ("course", Some(course.as_str()))] {
        for past in [false, true] {
            type Metric<'a> = (&'a str, Box<dyn Fn(&State, i64) + 'a>);
            let a = scope.unwrap_or(course.as_str());
            let list: Vec<Metric> = vec![
                (
                    "completion?cohort=week",
                    Box::new(move |s, t| {
                        std::hint::black_box(metrics::completion(s, a, t, Some(Period::Week)));
                    }),
                ),
                (
                    "time-to-competency",
                    Box::new(move |s, t| {
                        std::hint::black_box(metrics::time_to_competency(s, a, t, 0.8));
                    }),
                ),
                (
                    "retention?cohort=week",
                    Box::new(move |s, t| {
                        std::hint::black_box(metrics::retention(
                            s,
                            scope,
                            t,
                            Period::Week,
                            &metrics::DEFAULT_RETENTION_DAYS,
                        ));
                    }),
                ),
                (
                    "engagement?period=week",
                    Box::new(move |s, t| {
                        std::hint::black_box(
                            metrics::engagement(s, scope, t, Period::Week, None, None).unwrap(),
                        );
                    }),
                ),
                (
                    "activity?period=day",
                    Box::new(move |s, t| {
                        std::hint::black_box(
                            metrics::activity(s, scope, t, Period::Day, None, None).unwrap(),
                        );
                    }),
                ),
                (
                    "surveys?period=month",
                    Box::new(move |s, t| {
                        std::hint::black_box(metrics::surveys(s, scope, t, Some(Period::Month)));
                    }),
                ),
                (
                    "time-to-first-value",
                    Box::new(move |s, t| {
                        std::hint::black_box(metrics::time_to_first_value(s, scope, t));
                    }),
                ),
                (
                    "churn-risk",
                    Box::new(move |s, t| {
                        std::hint::black_box(metrics::churn_risk(s, scope, t, 7, 30, 100, 0));
                    }),
                ),
                (
                    "journey",
                    Box::new(move |s, t| {
                        std::hint::black_box(metrics::journey(s, scope, t));
                    }),
                ),
                (
                    "funnel (5 steps, window, week cohorts)",
                    Box::new(move |s, t| {
                        let steps = funnel_steps();
                        std::hint::black_box(metrics::funnel(
                            s,
                            scope,
                            t,
                            &steps,
                            Some(60),
                            Some(Period::Week),
                        ));
                    }),
                ),
                (
                    "experiment (3 variants, retention)",
                    Box::new(move |s, t| {
                        let outcome = metrics::Outcome::Retention { day: 7 };
                        let e = metrics::experiment(s, BUTTON, outcome, scope, t, None);
                        std::hint::black_box(e.ok());
                    }),
                ),
                (
                    "experiment (2 variants, completion)",
                    Box::new(move |s, t| {
                        let outcome = metrics::Outcome::Completion { window_days: 30 };
                        let e = metrics::experiment(s, ONBOARDING, outcome, Some(a), t, None);
                        std::hint::black_box(e.ok());
                    }),
                ),
                (
                    "revenue",
                    Box::new(move |s, t| {
                        std::hint::black_box(metrics::revenue(
                            s,
                            scope,
                            t,
                            None,
                            Period::Month,
                            &metrics::DEFAULT_LTV_DAYS,
                        ));
                    }),
                ),
            ];
            for (name, f) in list {
                let mut times = Vec::new();
                for _ in 0..100 {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let as_of = if past {
                        max_time - ((seed >> 33) % 150) as i64 * day - (seed % day as u64) as i64
                    } else {
                        max_time + day
                    };
                    let t = Instant::now();
                    f(&state, as_of);
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                let (p50, p99) = percentiles(times);
                println!(
                    "{label:6} {} {name:28} p50 {p50:7.2} ms  p99 {p99:7.2} ms",
                    if past { "past" } else { "now " }
                );
            }
        }
    }
}

/// The simulator's experiments (`simulate::experiments`).
const ONBOARDING: &str = "onboarding-checklist";
const BUTTON: &str = "enrol-button-colour";
/// A 5-step funnel over the simulator's verbs.
const FUNNEL_VERBS: [&str; 5] = [
    "http://adlnet.gov/expapi/verbs/registered",
    "http://adlnet.gov/expapi/verbs/launched",
    "http://adlnet.gov/expapi/verbs/experienced",
    "http://adlnet.gov/expapi/verbs/answered",
    "http://adlnet.gov/expapi/verbs/completed",
];

fn funnel_steps() -> Vec<trellis::cx::metrics::StepSpec> {
    FUNNEL_VERBS
        .iter()
        .map(|v| trellis::cx::metrics::StepSpec {
            verb: Some((*v).to_owned()),
            ..Default::default()
        })
        .collect()
}

fn funnel_query() -> String {
    let steps: Vec<(&str, String)> = FUNNEL_VERBS
        .iter()
        .map(|v| ("step", json!({ "verb": v }).to_string()))
        .collect();
    serde_urlencoded::to_string(steps).unwrap_or_default()
}

fn agent(key: &str, secret: &str) -> (ureq::Agent, String) {
    use base64::Engine;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"))
    );
    (ureq::Agent::new_with_defaults(), auth)
}

fn http(url: &str, key: &str, secret: &str, course: &str, requests: usize) {
    let past = "2026-07-15T12:34:56Z";
    let mut shapes: Vec<String> = Vec::new();
    for scope in ["", course] {
        let a = if scope.is_empty() {
            String::new()
        } else {
            format!("activity={scope}&")
        };
        for as_of in ["", past] {
            let t = if as_of.is_empty() {
                String::new()
            } else {
                format!("as_of={as_of}&")
            };
            for q in [
                "retention?cohort=week",
                "engagement?period=week",
                "activity?period=day",
                "surveys?period=month",
                "time-to-first-value?",
                "churn-risk?",
                "journey?",
                "revenue?",
                &format!("experiment?experiment={BUTTON}&metric=retention"),
                &format!("funnel?{}&window_days=60&cohort=week", funnel_query()),
            ] {
                shapes.push(format!(
                    "{q}{}{a}{t}",
                    if q.ends_with('?') { "" } else { "&" }
                ));
            }
            if !scope.is_empty() {
                for q in [
                    "completion?cohort=week",
                    "time-to-competency?",
                    &format!("experiment?experiment={ONBOARDING}&metric=completion"),
                ] {
                    shapes.push(format!(
                        "{q}{}{a}{t}",
                        if q.ends_with('?') { "" } else { "&" }
                    ));
                }
            }
        }
    }
    println!("| request (4 connections, {requests} each) | p50 ms | p99 ms |");
    println!("|---|---|---|");
    for shape in shapes {
        let path = format!("{url}/analytics/v1/{}", shape.trim_end_matches('&'));
        // A funnel scans every entry of the scope: fewer requests keep the
        // run short (the count is printed).
        let requests = if shape.starts_with("funnel") {
            (requests / 10).max(20)
        } else {
            requests
        };
        let times: Vec<f64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let path = path.clone();
                    s.spawn(move || {
                        let (agent, auth) = agent(key, secret);
                        let mut out = Vec::new();
                        for _ in 0..requests {
                            let t = Instant::now();
                            let res = agent.get(&path).header("Authorization", &auth).call();
                            let ok = matches!(&res, Ok(r) if r.status() == 200);
                            assert!(ok, "{path}: {:?}", res.map(|r| r.status()));
                            out.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let (p50, p99) = percentiles(times);
        println!(
            "| `{}` | {p50:.2} | {p99:.2} |{}",
            shape
                .replace(&funnel_query(), "step=(5 verbs)")
                .trim_end_matches(['&', '?']),
            if requests < 200 {
                format!(" {requests} each")
            } else {
                String::new()
            }
        );
    }
    let agent = ureq::Agent::new_with_defaults();
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let mut res = agent.get(format!("{url}/metrics")).call().unwrap();
        let _ = res.body_mut().read_to_string().unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99) = percentiles(times);
    println!("| `/metrics` (1 connection, 200 scrapes) | {p50:.2} | {p99:.2} |");
}

fn statement(i: u64, object: &str) -> Value {
    json!({"actor": {"mbox": format!("mailto:bench{}@bench.example.com", i % 5000)},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": object},
        "context": {"contextActivities": {"parent": [{"id": "https://bench.example.com/course"}]}}})
}

fn reflect(url: &str, key: &str, secret: &str, rate: u64, seconds: u64) {
    let stop = Instant::now() + Duration::from_secs(seconds);
    let delays = std::thread::scope(|s| {
        // Load: batches of 100 from 2 connections.
        for c in 0..2u64 {
            s.spawn(move || {
                let (agent, auth) = agent(key, secret);
                let per_conn = rate / 2;
                let start = Instant::now();
                let mut sent = 0u64;
                while Instant::now() < stop {
                    let batch: Vec<Value> = (0..100)
                        .map(|i| {
                            statement(
                                c * 1_000_000_000 + sent + i,
                                "https://bench.example.com/lesson",
                            )
                        })
                        .collect();
                    agent
                        .post(format!("{url}/xapi/statements"))
                        .header("Authorization", &auth)
                        .header("X-Experience-API-Version", "2.0.0")
                        .header("Content-Type", "application/json")
                        .send(serde_json::to_string(&batch).unwrap())
                        .unwrap();
                    sent += 100;
                    let due = Duration::from_secs_f64(sent as f64 / per_conn as f64);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
                sent
            });
        }
        let (agent, auth) = agent(key, secret);
        let mut delays = Vec::new();
        let mut n = 0;
        while Instant::now() < stop {
            n += 1;
            let probe = format!("https://bench.example.com/probe/{}/{n}", std::process::id());
            agent
                .post(format!("{url}/xapi/statements"))
                .header("Authorization", &auth)
                .header("X-Experience-API-Version", "2.0.0")
                .header("Content-Type", "application/json")
                .send(statement(n, &probe).to_string())
                .unwrap();
            let acked = Instant::now();
            loop {
                let mut res = agent
                    .get(format!(
                        "{url}/analytics/v1/activity?activity={probe}&period=month"
                    ))
                    .header("Authorization", &auth)
                    .call()
                    .unwrap();
                let v: Value =
                    serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
                if v["periods"].as_array().is_some_and(|p| !p.is_empty()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            delays.push(acked.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(200));
        }
        delays
    });
    let count = delays.len();
    let (p50, p99) = percentiles(delays);
    println!("reflection while ingesting {rate} statements/s: {count} probes, p50 {p50:.0} ms, p99 {p99:.0} ms");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let num = |i: usize, d: u64| arg(i).parse().unwrap_or(d);
    match arg(0) {
        "state" => state_bench(arg(1), arg(2)),
        "fold" => tokio::runtime::Runtime::new().unwrap().block_on(fold(arg(1))),
        "load" => tokio::runtime::Runtime::new().unwrap().block_on(load(arg(1))),
        "http" => http(arg(1), arg(2), arg(3), arg(4), num(5, 200) as usize),
        "reflect" => reflect(arg(1), arg(2), arg(3), num(4, 5000), num(5, 30)),
        _ => eprintln!("usage: cx_bench state FILE [COURSE] | fold DIR | load DIR | http URL KEY SECRET COURSE [REQUESTS] | reflect URL KEY SECRET [RATE] [SECONDS]"),
    }
}
