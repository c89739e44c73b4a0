//! NPS, CSAT and CES: the latest valid answer per learner and survey,
//! overall and by period.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::resolved::Resolved;
use super::{ratio, Period, SurveyKind};
use crate::cx::index::Index;
use crate::cx::period::rfc3339;
use crate::cx::Settings;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nps {
    pub responses: usize,
    pub promoters: usize,
    pub passives: usize,
    pub detractors: usize,
    pub score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Csat {
    pub responses: usize,
    pub mean: Option<f64>,
    pub satisfied_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ces {
    pub responses: usize,
    pub mean: Option<f64>,
    pub easy_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyResults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    pub nps: Nps,
    pub csat: Csat,
    pub ces: Ces,
    pub invalid: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Surveys {
    #[serde(flatten)]
    pub total: SurveyResults,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periods: Option<Vec<SurveyResults>>,
}

/// Latest valid answer per learner and survey, and the invalid count.
#[derive(Default)]
struct SurveyAcc {
    latest: HashMap<(u32, SurveyKind), ((i64, i64), u8)>,
    invalid: usize,
}

impl SurveyAcc {
    fn add(&mut self, learner: u32, kind: SurveyKind, key: (i64, i64), raw: f64) {
        match kind.point(raw) {
            None => self.invalid += 1,
            Some(point) => {
                let slot = self.latest.entry((learner, kind)).or_insert((key, point));
                if key > slot.0 {
                    *slot = (key, point);
                }
            }
        }
    }

    fn results(&self, start: Option<i64>) -> SurveyResults {
        let mut scores: HashMap<SurveyKind, Vec<u8>> = HashMap::new();
        for (&(_, kind), &(_, point)) in &self.latest {
            scores.entry(kind).or_default().push(point);
        }
        let of = |k| scores.get(&k).map(Vec::as_slice).unwrap_or(&[]);
        let mean = |s: &[u8]| {
            (!s.is_empty()).then(|| s.iter().map(|&p| f64::from(p)).sum::<f64>() / s.len() as f64)
        };
        let share = |s: &[u8], low: u8| ratio(s.iter().filter(|&&p| p >= low).count(), s.len());
        let nps = of(SurveyKind::Nps);
        let promoters = nps.iter().filter(|&&p| p >= 9).count();
        let detractors = nps.iter().filter(|&&p| p <= 6).count();
        let (csat, ces) = (of(SurveyKind::Csat), of(SurveyKind::Ces));
        SurveyResults {
            start: start.map(rfc3339),
            nps: Nps {
                responses: nps.len(),
                promoters,
                passives: nps.len() - promoters - detractors,
                detractors,
                score: (!nps.is_empty())
                    .then(|| 100.0 * (promoters as f64 - detractors as f64) / nps.len() as f64),
            },
            csat: Csat {
                responses: csat.len(),
                mean: mean(csat),
                satisfied_share: share(csat, 4),
            },
            ces: Ces {
                responses: ces.len(),
                mean: mean(ces),
                easy_share: share(ces, 5),
            },
            invalid: self.invalid,
        }
    }
}

pub fn surveys(
    index: &Index,
    settings: &Settings,
    activity: Option<&str>,
    as_of: i64,
    period: Option<Period>,
) -> Surveys {
    let r = Resolved::new(index, settings);
    let mut total = SurveyAcc::default();
    let mut periods: BTreeMap<i64, SurveyAcc> = BTreeMap::new();
    if let Some(data) = index.scope(activity) {
        for (&(time, seq), a) in data.answers.range(..(as_of.saturating_add(1), i64::MIN)) {
            let Some(&kind) = r.survey_types.get(&a.activity_type) else {
                continue;
            };
            total.add(a.learner, kind, (time, seq), a.raw);
            if let Some(p) = period {
                periods.entry(p.start_of(time)).or_default().add(
                    a.learner,
                    kind,
                    (time, seq),
                    a.raw,
                );
            }
        }
    }
    Surveys {
        total: total.results(None),
        periods: period.map(|_| {
            periods
                .iter()
                .map(|(&start, acc)| acc.results(Some(start)))
                .collect()
        }),
    }
}
