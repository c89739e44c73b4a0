//! Load generator for the Statement Resource (`bench/ingest.py` drives it).
//!
//! `post`: POSTs `--statements` statements without ids, in arrays of
//! `--batch`, over `--connections` keep-alive connections (one thread
//! each), and stops after exactly that many. `get`: GETs `agent`+`verb` or
//! `activity` queries (limit 100) for `--seconds` over the connections.
//! Prints one line `BENCH {json}` with the count, the elapsed time, the
//! errors and the latency percentiles of every request.
//!
//! The statements are those of `bench/statements.py`: one of `--learners`
//! learners, one of 20 verbs, a lesson of one of 20 courses with a
//! definition, a result, the course as parent and a timestamp; each
//! connection draws from its own seeded generator.
//!
//! ```sh
//! cargo run --release --example load -- post --url http://127.0.0.1:8080/xapi \
//!     --auth "Basic $(printf bench:secret | base64)" --statements 1000000
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const VERBS: [&str; 20] = [
    "experienced",
    "attempted",
    "completed",
    "passed",
    "failed",
    "answered",
    "launched",
    "initialized",
    "terminated",
    "suspended",
    "resumed",
    "progressed",
    "scored",
    "commented",
    "asked",
    "responded",
    "interacted",
    "mastered",
    "preferred",
    "registered",
];

struct Args {
    mode: String,
    url: String,
    auth: String,
    version: String,
    statements: u64,
    batch: u64,
    connections: u64,
    learners: u64,
    seconds: u64,
    kind: String,
}

fn parse_args() -> Result<Args, String> {
    let mut raw = std::env::args().skip(1);
    let mode = raw
        .next()
        .ok_or("usage: load post|get [--option value]...")?;
    let mut args = Args {
        mode,
        url: "http://127.0.0.1:8080/xapi".into(),
        auth: String::new(),
        version: "2.0.0".into(),
        statements: 1_000_000,
        batch: 100,
        connections: 8,
        learners: 100_000,
        seconds: 10,
        kind: "agent-verb".into(),
    };
    while let Some(flag) = raw.next() {
        let value = raw.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => args.url = value.trim_end_matches('/').to_owned(),
            "--auth" => args.auth = value,
            "--version" => args.version = value,
            "--statements" => args.statements = number()?,
            "--batch" => args.batch = number()?.max(1),
            "--connections" => args.connections = number()?.max(1),
            "--learners" => args.learners = number()?.max(1),
            "--seconds" => args.seconds = number()?,
            "--kind" => args.kind = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

/// SplitMix64: a small seeded generator, enough to vary the statements.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn statement(rng: &mut Rng, learners: u64, out: &mut String) {
    let l = rng.below(learners);
    let verb = VERBS[rng.below(VERBS.len() as u64) as usize];
    let (c, a, s) = (rng.below(20), rng.below(50), 100 + rng.below(899));
    let (m, d, h) = (1 + rng.below(8), rng.below(10), rng.below(10));
    out.push_str(&format!(
        concat!(
            r#"{{"actor":{{"objectType":"Agent","name":"Learner {l}","mbox":"mailto:learner{l}@bench.example.com"}},"#,
            r#""verb":{{"id":"http://adlnet.gov/expapi/verbs/{verb}","display":{{"en-US":"verb"}}}},"#,
            r#""object":{{"objectType":"Activity","id":"https://bench.example.com/course/{c}/lesson/{a}","#,
            r#""definition":{{"name":{{"en-US":"Lesson {a}"}},"type":"http://adlnet.gov/expapi/activities/lesson"}}}},"#,
            r#""result":{{"score":{{"scaled":0.{s}}},"completion":true,"duration":"PT{s}M"}},"#,
            r#""context":{{"contextActivities":{{"parent":[{{"id":"https://bench.example.com/course/{c}"}}]}}}},"#,
            r#""timestamp":"2026-0{m}-1{d}T1{h}:0{d}:00.{s}Z"}}"#
        ),
        l = l,
        verb = verb,
        c = c,
        a = a,
        s = s,
        m = m,
        d = d,
        h = h
    ));
}

fn query(rng: &mut Rng, args: &Args) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    if args.kind == "activity" {
        let activity = format!(
            "https://bench.example.com/course/{}/lesson/{}",
            rng.below(20),
            rng.below(50)
        );
        format!("activity={}", encode(&activity))
    } else {
        let agent = format!(
            r#"{{"mbox":"mailto:learner{}@bench.example.com"}}"#,
            rng.below(args.learners)
        );
        let verb = format!(
            "http://adlnet.gov/expapi/verbs/{}",
            VERBS[rng.below(VERBS.len() as u64) as usize]
        );
        format!("agent={}&verb={}", encode(&agent), encode(&verb))
    }
}

/// What one connection saw.
#[derive(Default)]
struct Outcome {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

fn connection(args: &Args, n: u64, requests: Arc<AtomicU64>, deadline: Option<Instant>) -> Outcome {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut rng = Rng(1000 + n);
    let mut outcome = Outcome::default();
    let mut body = String::new();
    loop {
        if let Some(deadline) = deadline {
            if Instant::now() >= deadline {
                break;
            }
        } else if requests
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(1)
            })
            .is_err()
        {
            break;
        }
        let started = Instant::now();
        let result = if args.mode == "post" {
            body.clear();
            body.push('[');
            for i in 0..args.batch {
                if i > 0 {
                    body.push(',');
                }
                statement(&mut rng, args.learners, &mut body);
            }
            body.push(']');
            agent
                .post(format!("{}/statements", args.url))
                .header("Authorization", &args.auth)
                .header("X-Experience-API-Version", &args.version)
                .header("Content-Type", "application/json")
                .send(body.as_str())
        } else {
            agent
                .get(format!(
                    "{}/statements?limit=100&{}",
                    args.url,
                    query(&mut rng, args)
                ))
                .header("Authorization", &args.auth)
                .header("X-Experience-API-Version", &args.version)
                .call()
        };
        let failure = match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let text = response.body_mut().read_to_string().unwrap_or_default();
                (status != 200).then(|| {
                    format!(
                        "HTTP {status}: {}",
                        text.chars().take(200).collect::<String>()
                    )
                })
            }
            Err(e) => Some(e.to_string()),
        };
        outcome
            .latencies_us
            .push(started.elapsed().as_micros() as u64);
        if let Some(failure) = failure {
            outcome.errors += 1;
            outcome.first_error.get_or_insert(failure);
        }
    }
    outcome
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let args = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let requests = Arc::new(AtomicU64::new(args.statements.div_ceil(args.batch)));
    let started = Instant::now();
    let deadline = (args.mode == "get").then(|| started + Duration::from_secs(args.seconds));
    let threads: Vec<_> = (0..args.connections)
        .map(|n| {
            let (args, requests) = (args.clone(), requests.clone());
            std::thread::spawn(move || connection(&args, n, requests, deadline))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in threads {
        let Ok(outcome) = t.join() else {
            errors += 1;
            continue;
        };
        latencies.extend(outcome.latencies_us);
        errors += outcome.errors;
        if let Some(e) = outcome.first_error {
            eprintln!("{e}");
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    println!(
        "BENCH {{\"requests\":{},\"errors\":{},\"duration_us\":{},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"max_us\":{}}}",
        latencies.len(),
        errors,
        elapsed.as_micros(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(0)
    );
}
