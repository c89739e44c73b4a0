//! The persisted form of the CX state: versioned, compact binary records
//! of facts, kept as the aggregate records of consumer `cx`
//! (`ConsumerState`).
//!
//! # Records
//! - `m`: the meta record: format byte, the log position of the snapshot,
//!   its number of chunks.
//! - `s{position:020}-{i:06}`: chunk `i` of the snapshot at `position`: a
//!   block of every counted fact held at that position.
//! - `t{from:020}`: one aggregator step, the log range `(from, to]`: a block
//!   of its counted facts and the log positions of the statements it
//!   retracted (voided).
//!
//! A block is the format byte, a dictionary of the strings its facts use
//! (learner keys, IRIs, currency codes, experiment names), then the facts:
//! flags, seq and time as zigzag varint deltas, strings as dictionary
//! indexes, scores and amounts as little-endian `f64`. Every block is
//! self-contained, so ids in memory never leak into the records and any
//! instance can read what another wrote. The state is the snapshot's facts
//! plus the facts of the steps after it, less the retracted positions.
//! Changing any of this means a new `RECORD_FORMAT`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::facts::{Exposure, Fact, Purchase};
use super::settings::Settings;
use super::state::names::Names;
use super::state::{State, FLAG_COMPLETION, FLAG_SCORE, FLAG_SUCCESS, NONE};

/// The format of the records this build writes and reads. Format 1 (before
/// formats were numbered) and 2 were one JSON record per statement.
pub const RECORD_FORMAT: u8 = 3;
pub const META_KEY: &str = "m";
/// A snapshot chunk's body is cut after this many bytes.
const CHUNK_BYTES: usize = 1 << 20;

const HAS_LEARNER: u64 = 1;
const HAS_OBJECT: u64 = 2;
const HAS_TYPE: u64 = 4;
const COMPLETION: u64 = 8;
const SUCCESS: u64 = 16;
const HAS_SCALED: u64 = 32;
const HAS_RAW: u64 = 64;
const PURCHASE: u64 = 128;
const REFUND: u64 = 256;
const VALID_AMOUNT: u64 = 512;
const EXPOSURE: u64 = 1024;

/// Records that this build cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record format {found}, this build reads format {RECORD_FORMAT}")]
    OtherFormat { found: u8 },
    #[error("unreadable record {key}: {reason}")]
    Unreadable { key: String, reason: &'static str },
}

pub fn step_key(from: i64) -> String {
    format!("t{from:020}")
}

fn chunk_key(position: i64, i: usize) -> String {
    format!("s{position:020}-{i:06}")
}

fn chunk_prefix(position: i64) -> String {
    format!("s{position:020}-")
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Writes facts into a block.
#[derive(Default)]
pub struct BlockWriter {
    dict: HashMap<String, u64>,
    names: Vec<String>,
    body: Vec<u8>,
    facts: u64,
    retracted: Vec<i64>,
    prev_seq: i64,
    prev_time: i64,
}

impl BlockWriter {
    fn name(&mut self, s: &str) -> u64 {
        if let Some(&i) = self.dict.get(s) {
            return i;
        }
        let i = self.names.len() as u64;
        self.names.push(s.to_owned());
        self.dict.insert(s.to_owned(), i);
        i
    }

    pub fn fact(&mut self, f: &Fact<'_>) {
        let mut bits = 0;
        let set = |bits: &mut u64, on: bool, bit: u64| {
            if on {
                *bits |= bit;
            }
        };
        set(&mut bits, f.learner.is_some(), HAS_LEARNER);
        set(&mut bits, f.object.is_some(), HAS_OBJECT);
        set(&mut bits, f.activity_type.is_some(), HAS_TYPE);
        set(&mut bits, f.completion, COMPLETION);
        set(&mut bits, f.success, SUCCESS);
        set(&mut bits, f.scaled.is_some(), HAS_SCALED);
        set(&mut bits, f.raw.is_some(), HAS_RAW);
        if let Some(p) = &f.purchase {
            bits |= PURCHASE;
            set(&mut bits, p.refund, REFUND);
            set(&mut bits, p.valid.is_some(), VALID_AMOUNT);
        }
        set(&mut bits, f.exposure.is_some(), EXPOSURE);
        let mut out = std::mem::take(&mut self.body);
        put_varint(&mut out, bits);
        put_varint(&mut out, zigzag(f.seq.wrapping_sub(self.prev_seq)));
        put_varint(&mut out, zigzag(f.time.wrapping_sub(self.prev_time)));
        self.prev_seq = f.seq;
        self.prev_time = f.time;
        let v = self.name(&f.verb);
        put_varint(&mut out, v);
        for s in [&f.learner, &f.object, &f.activity_type]
            .into_iter()
            .flatten()
        {
            let i = self.name(s);
            put_varint(&mut out, i);
        }
        put_varint(&mut out, f.context.len() as u64);
        for c in &f.context {
            let i = self.name(c);
            put_varint(&mut out, i);
        }
        for x in [f.scaled, f.raw].into_iter().flatten() {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some((amount, currency)) = f.purchase.as_ref().and_then(|p| p.valid.as_ref()) {
            out.extend_from_slice(&amount.to_le_bytes());
            let i = self.name(currency);
            put_varint(&mut out, i);
        }
        if let Some(x) = &f.exposure {
            let (a, b) = (self.name(&x.experiment), self.name(&x.variant));
            put_varint(&mut out, a);
            put_varint(&mut out, b);
        }
        self.body = out;
        self.facts += 1;
    }

    pub fn retract(&mut self, seq: i64) {
        self.retracted.push(seq);
    }

    pub fn facts(&self) -> u64 {
        self.facts
    }

    fn size(&self) -> usize {
        self.body.len()
    }

    /// The block's bytes.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 16 * self.names.len() + 16);
        out.push(RECORD_FORMAT);
        put_varint(&mut out, self.names.len() as u64);
        for n in &self.names {
            put_varint(&mut out, n.len() as u64);
            out.extend_from_slice(n.as_bytes());
        }
        put_varint(&mut out, self.facts);
        out.extend_from_slice(&self.body);
        put_varint(&mut out, self.retracted.len() as u64);
        let mut prev = 0i64;
        for &s in &self.retracted {
            put_varint(&mut out, zigzag(s.wrapping_sub(prev)));
            prev = s;
        }
        out
    }
}

/// Reads a block.
pub struct BlockReader<'a> {
    bytes: &'a [u8],
    names: Vec<&'a str>,
    facts_left: u64,
    prev_seq: i64,
    prev_time: i64,
}

const BAD: &str = "truncated or malformed block";

impl<'a> BlockReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<BlockReader<'a>, &'static str> {
        let mut r = BlockReader {
            bytes,
            names: Vec::new(),
            facts_left: 0,
            prev_seq: 0,
            prev_time: 0,
        };
        let format = r.byte()?;
        if format != RECORD_FORMAT {
            return Err("format");
        }
        let n = r.varint()?;
        for _ in 0..n {
            let len = usize::try_from(r.varint()?).map_err(|_| BAD)?;
            let (s, rest) = (
                r.bytes.get(..len).ok_or(BAD)?,
                r.bytes.get(len..).ok_or(BAD)?,
            );
            r.names
                .push(std::str::from_utf8(s).map_err(|_| "a name is not UTF-8")?);
            r.bytes = rest;
        }
        r.facts_left = r.varint()?;
        Ok(r)
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        let (&b, rest) = self.bytes.split_first().ok_or(BAD)?;
        self.bytes = rest;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(BAD)
    }

    fn f64(&mut self) -> Result<f64, &'static str> {
        let (head, rest) = (
            self.bytes.get(..8).ok_or(BAD)?,
            self.bytes.get(8..).ok_or(BAD)?,
        );
        self.bytes = rest;
        let mut a = [0u8; 8];
        a.copy_from_slice(head);
        Ok(f64::from_le_bytes(a))
    }

    fn name(&mut self) -> Result<Cow<'a, str>, &'static str> {
        let i = usize::try_from(self.varint()?).map_err(|_| BAD)?;
        self.names.get(i).map(|s| Cow::Borrowed(*s)).ok_or(BAD)
    }

    /// The next fact, `None` after the last.
    pub fn next_fact(&mut self) -> Result<Option<Fact<'a>>, &'static str> {
        if self.facts_left == 0 {
            return Ok(None);
        }
        self.facts_left -= 1;
        let bits = self.varint()?;
        let seq = self.prev_seq.wrapping_add(unzigzag(self.varint()?));
        let time = self.prev_time.wrapping_add(unzigzag(self.varint()?));
        self.prev_seq = seq;
        self.prev_time = time;
        let verb = self.name()?;
        let opt = |r: &mut Self, bit: u64| -> Result<Option<Cow<'a, str>>, &'static str> {
            if bits & bit != 0 {
                r.name().map(Some)
            } else {
                Ok(None)
            }
        };
        let learner = opt(self, HAS_LEARNER)?;
        let object = opt(self, HAS_OBJECT)?;
        let activity_type = opt(self, HAS_TYPE)?;
        let n = self.varint()?;
        let mut context = Vec::new();
        for _ in 0..n {
            context.push(self.name()?);
        }
        let scaled = if bits & HAS_SCALED != 0 {
            Some(self.f64()?)
        } else {
            None
        };
        let raw = if bits & HAS_RAW != 0 {
            Some(self.f64()?)
        } else {
            None
        };
        let purchase = if bits & PURCHASE != 0 {
            let valid = if bits & VALID_AMOUNT != 0 {
                let amount = self.f64()?;
                Some((amount, self.name()?))
            } else {
                None
            };
            Some(Purchase {
                refund: bits & REFUND != 0,
                valid,
            })
        } else {
            None
        };
        let exposure = if bits & EXPOSURE != 0 {
            Some(Exposure {
                experiment: self.name()?,
                variant: self.name()?,
            })
        } else {
            None
        };
        Ok(Some(Fact {
            seq,
            learner,
            time,
            verb,
            object,
            context,
            completion: bits & COMPLETION != 0,
            success: bits & SUCCESS != 0,
            scaled,
            raw,
            activity_type,
            purchase,
            exposure,
        }))
    }

    /// The retracted positions (after the last fact).
    pub fn retracted(&mut self) -> Result<Vec<i64>, &'static str> {
        while self.next_fact()?.is_some() {}
        let n = self.varint()?;
        let mut out = Vec::new();
        let mut prev = 0i64;
        for _ in 0..n {
            prev = prev.wrapping_add(unzigzag(self.varint()?));
            out.push(prev);
        }
        Ok(out)
    }
}

/// The meta record.
pub fn meta(position: i64, chunks: usize) -> Vec<u8> {
    let mut out = vec![RECORD_FORMAT];
    put_varint(&mut out, zigzag(position));
    put_varint(&mut out, chunks as u64);
    out
}

fn read_meta(bytes: &[u8]) -> Result<(i64, usize), &'static str> {
    let mut r = BlockReader {
        bytes,
        names: Vec::new(),
        facts_left: 0,
        prev_seq: 0,
        prev_time: 0,
    };
    if r.byte()? != RECORD_FORMAT {
        return Err("format");
    }
    let position = unzigzag(r.varint()?);
    let chunks = usize::try_from(r.varint()?).map_err(|_| BAD)?;
    Ok((position, chunks))
}

fn name(names: &Names, id: u32) -> Option<Cow<'_, str>> {
    (id != NONE).then(|| Cow::Borrowed(names.name(id)))
}

/// The context Activities of a context set, by IRI.
fn context_of(state: &State, ctx: u32) -> Vec<Cow<'_, str>> {
    state
        .ctxset_members(ctx)
        .iter()
        .map(|&c| Cow::Borrowed(state.scope_names.name(c)))
        .collect()
}

/// The facts a state holds, as they would be extracted again.
fn facts_of(state: &State) -> impl Iterator<Item = Fact<'_>> + '_ {
    let learners = state.learners.iter().enumerate().flat_map(move |(lid, l)| {
        let key = state.learner_names.name(lid as u32);
        l.entries.iter().map(move |e| {
            let extra = if e.flags & FLAG_SCORE != 0 {
                l.extra(e.key())
            } else {
                None
            };
            let keyed = |t: i64, s: i64| (t, s) == e.key();
            let purchase = l
                .purchases
                .iter()
                .find(|p| keyed(p.time, p.seq))
                .map(|p| Purchase {
                    refund: p.refund,
                    valid: p
                        .valid
                        .then(|| (p.amount, Cow::Borrowed(state.currencies.name(p.currency)))),
                });
            let exposure = l
                .exposures
                .iter()
                .find(|x| keyed(x.time, x.seq))
                .map(|x| Exposure {
                    experiment: Cow::Borrowed(state.experiment_names.name(x.experiment)),
                    variant: Cow::Borrowed(state.variants.name(x.variant)),
                });
            Fact {
                seq: e.seq,
                learner: Some(Cow::Borrowed(key)),
                time: e.time,
                verb: Cow::Borrowed(state.verbs.name(e.verb)),
                object: name(&state.scope_names, e.object),
                context: context_of(state, e.ctx),
                completion: e.flags & FLAG_COMPLETION != 0,
                success: e.flags & FLAG_SUCCESS != 0,
                scaled: extra.map(|x| x.scaled).filter(|x| !x.is_nan()),
                raw: extra.map(|x| x.raw).filter(|x| !x.is_nan()),
                activity_type: name(&state.types, e.otype),
                purchase,
                exposure,
            }
        })
    });
    let groups = state.groups.iter().map(move |g| Fact {
        seq: g.seq,
        learner: None,
        time: g.time,
        verb: Cow::Borrowed(state.verbs.name(g.verb)),
        object: name(&state.scope_names, g.object),
        context: context_of(state, g.ctx),
        ..Fact::default()
    });
    learners.chain(groups)
}

/// The records of a snapshot of `state` at log position `position`: its
/// chunks, then the meta record.
pub fn snapshot_records(state: &State, position: i64) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut writer = BlockWriter::default();
    for f in facts_of(state) {
        writer.fact(&f);
        if writer.size() >= CHUNK_BYTES {
            let full = std::mem::take(&mut writer);
            out.push((chunk_key(position, out.len()), full.finish()));
        }
    }
    if writer.facts() > 0 || out.is_empty() {
        out.push((chunk_key(position, out.len()), writer.finish()));
    }
    let chunks = out.len();
    out.push((META_KEY.to_owned(), meta(position, chunks)));
    out
}

/// A state read back from its records.
pub struct Loaded {
    pub state: State,
    /// Facts in step records (after the snapshot).
    pub step_facts: u64,
    /// Records no longer in use (an older snapshot's chunks, steps it
    /// covers): deleted at the next snapshot.
    pub stale: Vec<String>,
}

fn format_of(value: &[u8]) -> u8 {
    match value.first() {
        Some(b'{') => 1,
        Some(&b) => b,
        None => 0,
    }
}

/// Builds the state from every record of the consumer.
pub fn load(settings: Arc<Settings>, records: &[(String, Vec<u8>)]) -> Result<Loaded, RecordError> {
    let unreadable = |key: &str, reason: &'static str| RecordError::Unreadable {
        key: key.to_owned(),
        reason,
    };
    let mut snapshot: Option<(i64, usize)> = None;
    for (key, value) in records {
        let found = format_of(value);
        if found != RECORD_FORMAT {
            return Err(RecordError::OtherFormat { found });
        }
        if key == META_KEY {
            snapshot = Some(read_meta(value).map_err(|r| unreadable(key, r))?);
        } else if !key.starts_with('s') && !key.starts_with('t') {
            return Err(unreadable(key, "unknown record key"));
        }
    }
    let (position, chunks) = snapshot.unwrap_or((0, 0));
    let prefix = chunk_prefix(position);
    let first_step = step_key(position);
    let mut stale = Vec::new();
    let mut live_chunks = Vec::new();
    let mut steps = Vec::new();
    for (key, value) in records {
        if key.starts_with('s') {
            if key.starts_with(&prefix) {
                live_chunks.push((key, value));
            } else {
                stale.push(key.clone());
            }
        } else if key.starts_with('t') {
            if key.as_str() >= first_step.as_str() {
                steps.push((key, value));
            } else {
                stale.push(key.clone());
            }
        }
    }
    if live_chunks.len() != chunks {
        return Err(unreadable(&prefix, "snapshot chunks missing"));
    }
    let mut retracted: HashSet<i64> = HashSet::new();
    for (key, value) in &steps {
        let mut r = BlockReader::new(value).map_err(|e| unreadable(key, e))?;
        retracted.extend(r.retracted().map_err(|e| unreadable(key, e))?);
    }
    let mut state = State::new(settings);
    let mut step_facts = 0;
    for (i, (key, value)) in live_chunks.iter().chain(steps.iter()).enumerate() {
        let mut r = BlockReader::new(value).map_err(|e| unreadable(key, e))?;
        while let Some(f) = r.next_fact().map_err(|e| unreadable(key, e))? {
            if i >= live_chunks.len() {
                step_facts += 1;
            }
            if !retracted.contains(&f.seq) {
                state.insert(&f);
            }
        }
    }
    Ok(Loaded {
        state,
        step_facts,
        stale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: i64) -> Fact<'static> {
        Fact {
            seq,
            learner: Some("mbox:mailto:a@x".into()),
            time: 1_767_225_600_000_000 + seq * 1_000_001,
            verb: "http://adlnet.gov/expapi/verbs/completed".into(),
            object: Some("http://course".into()),
            context: vec!["http://program".into()],
            completion: true,
            success: seq % 2 == 0,
            scaled: Some(0.75),
            raw: Some(-3.0),
            activity_type: Some("urn:trellis:cx:activity-type:nps".into()),
            purchase: Some(Purchase {
                refund: seq % 3 == 0,
                valid: (seq % 2 == 1).then(|| (19.99, "EUR".into())),
            }),
            exposure: Some(Exposure {
                experiment: "onboarding".into(),
                variant: "b".into(),
            }),
        }
    }

    #[test]
    fn a_block_reads_back_its_facts_and_retractions() {
        let facts: Vec<Fact> = [5, 3, 9, 1000].into_iter().map(sample).collect();
        let group = Fact {
            seq: 2,
            time: -5,
            verb: "v:x".into(),
            ..Fact::default()
        };
        let mut w = BlockWriter::default();
        for f in &facts {
            w.fact(f);
        }
        w.fact(&group);
        w.retract(4);
        w.retract(1);
        let bytes = w.finish();
        let mut r = BlockReader::new(&bytes).unwrap();
        for f in facts.iter().chain([&group]) {
            assert_eq!(r.next_fact().unwrap().as_ref(), Some(f));
        }
        assert_eq!(r.next_fact().unwrap(), None);
        let mut r = BlockReader::new(&bytes).unwrap();
        assert_eq!(r.retracted().unwrap(), vec![4, 1]);
    }

    #[test]
    fn damaged_blocks_are_errors_never_panics() {
        let mut w = BlockWriter::default();
        let f = sample(7);
        w.fact(&f);
        let bytes = w.finish();
        for cut in 0..bytes.len() {
            let part = &bytes[..cut];
            if let Ok(mut r) = BlockReader::new(part) {
                let _ = r.retracted();
            }
        }
        let mut flipped = bytes.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0xff;
            if let Ok(mut r) = BlockReader::new(&flipped) {
                let _ = r.retracted();
            }
            flipped[i] ^= 0xff;
        }
    }
}
