//! NPS, CSAT and CES: the latest valid answer per learner and survey,
//! overall and by period.

use serde::Serialize;

use super::{ratio, Period, SurveyKind};
use crate::cx::period::{day_of, rfc3339};
use crate::cx::state::{ScopeView, State};

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

/// Counts of the latest valid answers of one group of answers.
#[derive(Debug, Clone, Default)]
struct Tally {
    /// Per kind: responses, sum of points, points at or above the "good"
    /// mark; for NPS also promoters (9-10) and detractors (0-6).
    responses: [usize; 3],
    sums: [u64; 3],
    good: [usize; 3],
    promoters: usize,
    detractors: usize,
    invalid: usize,
}

fn kind_index(kind: SurveyKind) -> usize {
    match kind {
        SurveyKind::Nps => 0,
        SurveyKind::Csat => 1,
        SurveyKind::Ces => 2,
    }
}

impl Tally {
    fn count(&mut self, kind: SurveyKind, point: u8) {
        let k = kind_index(kind);
        self.responses[k] += 1;
        self.sums[k] += u64::from(point);
        match kind {
            SurveyKind::Nps => {
                self.promoters += usize::from(point >= 9);
                self.detractors += usize::from(point <= 6);
            }
            SurveyKind::Csat => self.good[k] += usize::from(point >= 4),
            SurveyKind::Ces => self.good[k] += usize::from(point >= 5),
        }
    }

    fn results(&self, start: Option<i64>) -> SurveyResults {
        let mean = |k: usize| {
            (self.responses[k] > 0).then(|| self.sums[k] as f64 / self.responses[k] as f64)
        };
        let nps = self.responses[0];
        SurveyResults {
            start: start.map(rfc3339),
            nps: Nps {
                responses: nps,
                promoters: self.promoters,
                passives: nps - self.promoters - self.detractors,
                detractors: self.detractors,
                score: (nps > 0)
                    .then(|| 100.0 * (self.promoters as f64 - self.detractors as f64) / nps as f64),
            },
            csat: Csat {
                responses: self.responses[1],
                mean: mean(1),
                satisfied_share: ratio(self.good[1], self.responses[1]),
            },
            ces: Ces {
                responses: self.responses[2],
                mean: mean(2),
                easy_share: ratio(self.good[2], self.responses[2]),
            },
            invalid: self.invalid,
        }
    }
}

/// Per learner row and survey kind, the group (1 + its ordinal) in which
/// its latest answer was already counted.
struct Seen(Vec<[u32; 3]>);

impl Seen {
    fn first(&mut self, row: u32, kind: SurveyKind, group: u32) -> bool {
        let Some(slot) = self.0.get_mut(row as usize) else {
            return false;
        };
        let mark = &mut slot[kind_index(kind)];
        let first = *mark != group;
        *mark = group;
        first
    }
}

pub fn surveys(
    state: &State,
    activity: Option<&str>,
    as_of: i64,
    period: Option<Period>,
) -> Surveys {
    let mut total = Tally::default();
    let mut periods: Vec<(i64, Tally)> = Vec::new();
    if let Some(view) = ScopeView::new(state, activity) {
        let rows = view.data.rows.len();
        let mut seen_total = Seen(vec![[0; 3]; rows]);
        let mut seen_period = Seen(if period.is_some() {
            vec![[0; 3]; rows]
        } else {
            Vec::new()
        });
        // Newest first: the first answer met per learner and kind is its
        // latest (by event time, then arrival).
        let mut current = (i64::MAX, i64::MAX); // (period start, index)
        for a in view
            .data
            .answers
            .range(|_| false, |a| a.time <= as_of)
            .rev()
        {
            let point = a.valid_point();
            match point {
                None => total.invalid += 1,
                Some(p) => {
                    if seen_total.first(a.row, a.kind, 1) {
                        total.count(a.kind, p);
                    }
                }
            }
            let Some(p) = period else { continue };
            if a.time < current.0 {
                let index = p.index_of_day(day_of(a.time));
                current = (p.start_of_index(index), index);
                periods.push((index, Tally::default()));
            }
            let group = periods.len() as u32;
            if let Some((_, tally)) = periods.last_mut() {
                match point {
                    None => tally.invalid += 1,
                    Some(pt) => {
                        if seen_period.first(a.row, a.kind, group) {
                            tally.count(a.kind, pt);
                        }
                    }
                }
            }
        }
    }
    periods.reverse();
    Surveys {
        total: total.results(None),
        periods: period.map(|p| {
            periods
                .iter()
                .map(|(i, tally)| tally.results(Some(p.start_of_index(*i))))
                .collect()
        }),
    }
}
