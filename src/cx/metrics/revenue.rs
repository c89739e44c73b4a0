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

/// Per currency: counts, the buyer of each purchase, and the LTV sums.
#[derive(Default)]
struct Acc {
    purchases: usize,
    refunds: usize,
    revenue: f64,
    /// The learner id of each purchase (sorted at the end to count buyers).
    bought: Vec<u32>,
    /// Per cohort index, per day offset: the signed amounts of eligible
    /// learners before E + day.
    sums: BTreeMap<i64, Vec<f64>>,
}

/// Learners with at least one, and with at least two, purchases.
fn buyers(mut bought: Vec<u32>) -> (usize, usize) {
    bought.sort_unstable();
    let (mut buyers, mut repeat) = (0, 0);
    for (i, lid) in bought.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|j| bought.get(j));
        let before = i.checked_sub(2).and_then(|j| bought.get(j));
        if previous != Some(lid) {
            buyers += 1;
        } else if before != Some(lid) {
            repeat += 1;
        }
    }
    (buyers, repeat)
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
    let mut currencies = Vec::new();
    let Some(view) = ScopeView::new(state, activity) else {
        return Revenue {
            currencies,
            invalid,
        };
    };
    // A currency never seen matches no purchase (invalid ones still count).
    let wanted = currency.map(|c| state.currencies.get(c));
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
    // Per currency id.
    let mut accs: BTreeMap<u32, Acc> = BTreeMap::new();
    for sale in state.sales.range(|_| false, |s| s.purchase.time <= as_of) {
        let p = &sale.purchase;
        if !view.contains(p.object, p.ctx) {
            continue;
        }
        if !p.valid {
            invalid += 1;
            continue;
        }
        if wanted.is_some_and(|w| w != Some(p.currency)) {
            continue;
        }
        let acc = accs.entry(p.currency).or_default();
        let signed = if p.refund {
            acc.refunds += 1;
            -p.amount
        } else {
            acc.purchases += 1;
            acc.bought.push(sale.lid);
            p.amount
        };
        acc.revenue += signed;
        let e = enrolment.get(sale.lid as usize).copied().unwrap_or(NEVER);
        if e == NEVER {
            continue;
        }
        let sums = acc
            .sums
            .entry(cohort.index_of_day(day_of(e)))
            .or_insert_with(|| vec![0.0; days.len()]);
        for (i, &d) in days.iter().enumerate() {
            let until = e.saturating_add(i64::from(d) * MICROS_PER_DAY);
            if until <= as_of && p.time < until {
                if let Some(s) = sums.get_mut(i) {
                    *s += signed;
                }
            }
        }
    }
    let cohorts = cohorts.into_sorted();
    let mut accs: Vec<(&str, Acc)> = accs
        .into_iter()
        .map(|(id, acc)| (state.currencies.name(id), acc))
        .collect();
    accs.sort_by(|a, b| a.0.cmp(b.0));
    for (code, acc) in accs {
        let (buyers, repeat) = buyers(acc.bought);
        let sums = acc.sums;
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
                            let sum = sums.get(i).and_then(|s| s.get(k)).copied().unwrap_or(0.0);
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
    Revenue {
        currencies,
        invalid,
    }
}
