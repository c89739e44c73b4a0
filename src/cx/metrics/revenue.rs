//! Revenue and lifetime value (docs/cx-metrics.md, Part 2): purchases and
//! refunds in a scope, per currency, never converted.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ratio, Groups, Period};
use crate::cx::period::{day_of, rfc3339, MICROS_PER_DAY};
use crate::cx::state::{ScopeView, State, NEVER};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LtvPoint {
    pub day: u32,
    pub eligible: usize,
    pub ltv: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LtvCohort {
    pub start: String,
    pub learners: usize,
    pub points: Vec<LtvPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrencyRevenue {
    pub currency: String,
    pub purchases: usize,
    pub refunds: usize,
    pub revenue: f64,
    pub buyers: usize,
    pub repeat_buyers: usize,
    pub repeat_rate: Option<f64>,
    pub arpu: Option<f64>,
    pub arppu: Option<f64>,
    pub cohorts: Vec<LtvCohort>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revenue {
    pub currencies: Vec<CurrencyRevenue>,
    pub invalid: usize,
}

fn div(a: f64, b: usize) -> Option<f64> {
    (b > 0).then(|| a / b as f64)
}

/// Per currency: counts, and per learner the signed amounts with times.
#[derive(Default)]
struct Acc {
    purchases: usize,
    refunds: usize,
    revenue: f64,
    /// Per learner id: (purchases, [(time, signed amount)]).
    by_learner: BTreeMap<u32, (usize, Vec<(i64, f64)>)>,
}

pub fn revenue(
    state: &State,
    activity: Option<&str>,
    as_of: i64,
    currency: Option<&str>,
    cohort: Period,
    days: &[u32],
) -> Revenue {
    let mut invalid = 0;
    let mut accs: BTreeMap<&str, Acc> = BTreeMap::new();
    let mut currencies = Vec::new();
    if let Some(view) = ScopeView::new(state, activity) {
        for sale in state.sales.range(|_| false, |s| s.purchase.time <= as_of) {
            let p = &sale.purchase;
            if !view.contains(p.object, p.ctx) {
                continue;
            }
            if !p.valid {
                invalid += 1;
                continue;
            }
            let code = state.currencies.name(p.currency);
            if currency.is_some_and(|c| c != code) {
                continue;
            }
            let acc = accs.entry(code).or_default();
            let (signed, count) = if p.refund {
                acc.refunds += 1;
                (-p.amount, 0)
            } else {
                acc.purchases += 1;
                (p.amount, 1)
            };
            acc.revenue += signed;
            let l = acc.by_learner.entry(sale.lid).or_default();
            l.0 += count;
            l.1.push((p.time, signed));
        }
        if accs.is_empty() {
            return Revenue {
                currencies,
                invalid,
            };
        }
        // Enrolment per learner id, cohorts and their eligible learners.
        let mut enrolment = vec![NEVER; state.learners.len()];
        let mut enrolled = 0;
        let mut cohorts: Groups<(usize, Vec<usize>)> = Groups::default();
        for row in view.enrolled(as_of) {
            enrolled += 1;
            if let Some(e) = enrolment.get_mut(row.lid as usize) {
                *e = row.e;
            }
            let c = cohorts.slot(cohort.index_of_day(day_of(row.e)), || {
                (0, vec![0; days.len()])
            });
            c.0 += 1;
            for (i, &d) in days.iter().enumerate() {
                if row.e.saturating_add(i64::from(d) * MICROS_PER_DAY) <= as_of {
                    if let Some(n) = c.1.get_mut(i) {
                        *n += 1;
                    }
                }
            }
        }
        let cohorts = cohorts.into_sorted();
        for (code, acc) in accs {
            let buyers = acc.by_learner.values().filter(|l| l.0 >= 1).count();
            let repeat = acc.by_learner.values().filter(|l| l.0 >= 2).count();
            // Sums per (cohort, day) of eligible learners' amounts before E + day.
            let mut sums: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
            for (&lid, (_, amounts)) in &acc.by_learner {
                let e = enrolment.get(lid as usize).copied().unwrap_or(NEVER);
                if e == NEVER {
                    continue;
                }
                let slot = sums
                    .entry(cohort.index_of_day(day_of(e)))
                    .or_insert_with(|| vec![0.0; days.len()]);
                for (i, &d) in days.iter().enumerate() {
                    let until = e.saturating_add(i64::from(d) * MICROS_PER_DAY);
                    if until > as_of {
                        continue;
                    }
                    let before: f64 = amounts
                        .iter()
                        .filter(|(t, _)| *t < until)
                        .map(|(_, a)| a)
                        .sum();
                    if let Some(s) = slot.get_mut(i) {
                        *s += before;
                    }
                }
            }
            currencies.push(CurrencyRevenue {
                currency: code.to_owned(),
                purchases: acc.purchases,
                refunds: acc.refunds,
                revenue: acc.revenue,
                buyers,
                repeat_buyers: repeat,
                repeat_rate: ratio(repeat, buyers),
                arpu: div(acc.revenue, enrolled),
                arppu: div(acc.revenue, buyers),
                cohorts: cohorts
                    .iter()
                    .map(|(i, (learners, eligible))| LtvCohort {
                        start: rfc3339(cohort.start_of_index(*i)),
                        learners: *learners,
                        points: days
                            .iter()
                            .enumerate()
                            .map(|(k, &day)| {
                                let n = eligible.get(k).copied().unwrap_or(0);
                                let sum =
                                    sums.get(i).and_then(|s| s.get(k)).copied().unwrap_or(0.0);
                                LtvPoint {
                                    day,
                                    eligible: n,
                                    ltv: div(sum, n),
                                }
                            })
                            .collect(),
                    })
                    .collect(),
            });
        }
    }
    Revenue {
        currencies,
        invalid,
    }
}
