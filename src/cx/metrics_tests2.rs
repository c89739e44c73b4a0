//! Journey, funnel, experiment and revenue against hand-computed
//! expectations: window edges, equal event times (arrival order decides),
//! a sample-ratio mismatch, refunds and currencies.

use std::borrow::Cow;

use statrs::function::erf::erfc;

use super::facts::{Exposure, Fact, Purchase};
use super::metrics::*;
use super::metrics_tests::{at, f, index, t0, C, COMPLETED, EXPERIENCED, LESSON};
use super::period::rfc3339;

const PURCHASE: &str = "http://activitystrea.ms/schema/1.0/purchase";
const REFUNDED: &str = "urn:trellis:cx:verb:refunded";
/// erfc(1) and erfc(3), the survival function of chi-squared with 1 degree
/// of freedom at 2 and 18 (erfc(sqrt(x / 2))), from tables.
const ERFC_1: f64 = 0.157_299_207_050_285_13;
const ERFC_3: f64 = 2.209_049_699_858_544e-5;

fn step(verb: &str) -> StepSpec {
    StepSpec {
        verb: Some(verb.to_owned()),
        ..StepSpec::default()
    }
}

fn exposed(seq: i64, learner: &str, days: f64, experiment: &str, variant: &str) -> Fact<'static> {
    let mut fact = f(seq, learner, days, EXPERIENCED, LESSON);
    fact.exposure = Some(Exposure {
        experiment: Cow::Owned(experiment.to_owned()),
        variant: Cow::Owned(variant.to_owned()),
    });
    fact
}

fn sale(
    seq: i64,
    learner: &str,
    days: f64,
    refund: bool,
    amount: Option<(f64, &str)>,
) -> Fact<'static> {
    let mut fact = f(
        seq,
        learner,
        days,
        if refund { REFUNDED } else { PURCHASE },
        C,
    );
    fact.purchase = Some(Purchase {
        refund,
        valid: amount.map(|(a, c)| (a, Cow::Owned(c.to_owned()))),
    });
    fact
}

fn close(got: Option<f64>, want: f64) -> bool {
    got.is_some_and(|g| (g - want).abs() <= 1e-12 * want.abs().max(1.0))
}

/// The standard normal CDF, from the complementary error function.
fn phi(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

#[test]
fn funnel_steps_follow_arrival_order_on_equal_event_times_and_the_window_includes_its_last_instant()
{
    let (state, _) = index(&[
        // a: step 2 at the same instant as step 1, but arrived later.
        f(1, "a", 0.0, EXPERIENCED, LESSON),
        f(2, "a", 0.0, COMPLETED, LESSON),
        // b: the completion arrived before the experience at the same
        // instant: it does not come after step 1.
        f(3, "b", 1.0, COMPLETED, LESSON),
        f(4, "b", 1.0, EXPERIENCED, LESSON),
        // c: step 2 exactly 3 days after step 1.
        f(5, "c", 0.5, EXPERIENCED, LESSON),
        f(6, "c", 3.5, COMPLETED, LESSON),
    ]);
    let steps = [step(EXPERIENCED), step(COMPLETED)];
    let reached = |window: Option<u32>| {
        let answer = funnel(&state, Some(C), at(10.0), &steps, window, None);
        let second = &answer.steps[1];
        (
            answer.learners,
            second.learners,
            second.median_seconds,
            second.p90_seconds,
        )
    };
    let three_days = 3.0 * 86_400.0;
    assert_eq!(reached(None), (3, 2, Some(0.0), Some(three_days)));
    assert_eq!(reached(Some(3)), (3, 2, Some(0.0), Some(three_days)));
    assert_eq!(reached(Some(2)), (3, 1, Some(0.0), Some(0.0)));
    // As of an instant between c's two statements.
    let early = funnel(&state, Some(C), at(3.0), &steps, None, None);
    assert_eq!((early.learners, early.steps[1].learners), (3, 1));
    let first = &early.steps[0];
    assert_eq!((first.conversion, first.step_conversion), (Some(1.0), None));
    assert!(close(early.steps[1].conversion, 1.0 / 3.0));
}

#[test]
fn experiment_counts_completions_up_to_the_window_end_and_compares_with_the_normal_approximation() {
    let mut facts = vec![
        // control: c1 completes exactly 30 days after exposure (a
        // success), c2 a microsecond later (a failure).
        exposed(1, "c1", 0.0, "x", "control"),
        f(2, "c1", 30.0, COMPLETED, C),
        exposed(3, "c2", 0.0, "x", "control"),
        // treatment: t1 completes on day 5; t2 was exposed too recently to
        // be eligible as of day 35.
        exposed(5, "t1", 0.0, "x", "treatment"),
        f(6, "t1", 5.0, COMPLETED, C),
        exposed(7, "t2", 10.0, "x", "treatment"),
        // d saw both variants at the same instant: conflicted.
        exposed(8, "d", 1.0, "x", "treatment"),
        exposed(9, "d", 1.0, "x", "control"),
    ];
    let mut late = f(4, "c2", 30.0, COMPLETED, C);
    late.time += 1;
    facts.push(late);
    let (state, _) = index(&facts);
    let outcome = Outcome::Completion { window_days: 30 };
    let e = experiment(&state, "x", outcome, Some(C), at(35.0), None).unwrap();
    assert_eq!((e.control.as_deref(), e.conflicted), (Some("control"), 1));
    let (c, t) = (&e.variants[0], &e.variants[1]);
    assert_eq!(
        (c.variant.as_str(), c.exposed, c.n, c.successes),
        ("control", 2, 2, Some(1))
    );
    assert_eq!(
        (t.variant.as_str(), t.exposed, t.n, t.successes),
        ("treatment", 2, 1, Some(1))
    );
    assert_eq!(
        (c.value, c.variance, t.value, t.variance),
        (Some(0.5), Some(0.25), Some(1.0), Some(0.0))
    );
    let half_width = Z95 * (0.25f64 / 2.0).sqrt();
    assert!(close(c.ci_low, 0.5 - half_width) && close(c.ci_high, 0.5 + half_width));
    assert_eq!((t.ci_low, t.ci_high), (None, None), "n < 2");
    let se = (0.0f64 / 1.0 + 0.25 / 2.0).sqrt();
    assert_eq!((t.difference, t.relative_lift), (Some(0.5), Some(1.0)));
    assert!(close(t.difference_ci_low, 0.5 - Z95 * se));
    assert!(close(t.p_value, 2.0 * (1.0 - phi(0.5 / se))));
    assert!(close(t.chance_to_beat_control, phi(0.5 / se)));
    assert_eq!((c.difference, c.p_value), (None, None));
    // An even split of exposures: chi-squared 0, p-value 1.
    assert!(close(e.srm_p_value, 1.0) && !e.srm);
    // A control that is not a variant.
    assert!(experiment(&state, "x", outcome, Some(C), at(35.0), Some("blue")).is_err());
}

#[test]
fn a_skewed_split_is_a_sample_ratio_mismatch() {
    // 40 against 10: chi-squared = 2 * 15^2 / 25 = 18 with 1 degree of
    // freedom, p = erfc(3); 30 against 20: chi-squared 2, p = erfc(1).
    let mut facts = Vec::new();
    for i in 0..50 {
        let variant = if i < 40 { "a" } else { "b" };
        facts.push(exposed(i, &format!("l{i}"), 0.0, "skewed", variant));
        let mild = if i < 30 { "a" } else { "b" };
        facts.push(exposed(100 + i, &format!("l{i}"), 1.0, "mild", mild));
    }
    let (state, _) = index(&facts);
    let retention = Outcome::Retention { day: 1 };
    let skewed = experiment(&state, "skewed", retention, None, at(5.0), None).unwrap();
    assert_eq!(
        skewed.control.as_deref(),
        Some("a"),
        "first variant in byte order"
    );
    assert!(
        close(skewed.srm_p_value, ERFC_3),
        "{:?}",
        skewed.srm_p_value
    );
    assert!(skewed.srm);
    let mild = experiment(&state, "mild", retention, None, at(5.0), None).unwrap();
    assert!(close(mild.srm_p_value, ERFC_1), "{:?}", mild.srm_p_value);
    assert!(!mild.srm);
    // Retention at day 1: every learner of "skewed" has a statement at
    // day 1 (its "mild" exposure); nobody of "mild" after day 2.
    assert_eq!(skewed.variants[0].successes, Some(40));
    assert_eq!(mild.variants[0].successes, Some(0));
}

#[test]
fn revenue_nets_refunds_per_currency_and_lifetime_value_counts_before_the_day_boundary() {
    let (state, _) = index(&[
        // a enrols on day 0 with a purchase; refund of 30 EUR on day 10,
        // exactly 10 days after enrolment (outside the 10-day value).
        sale(1, "a", 0.0, false, Some((100.0, "EUR"))),
        sale(2, "a", 10.0, true, Some((30.0, "EUR"))),
        sale(3, "a", 20.0, false, Some((50.0, "USD"))),
        // b enrols on day 1 and buys exactly 10 days later.
        f(4, "b", 1.0, EXPERIENCED, LESSON),
        sale(5, "b", 11.0, false, Some((20.0, "EUR"))),
        // A purchase without a valid amount or currency.
        sale(6, "b", 2.0, false, None),
    ]);
    let r = revenue(&state, Some(C), at(40.0), None, Period::Week, &[10, 30]);
    assert_eq!(r.invalid, 1);
    let codes: Vec<&str> = r.currencies.iter().map(|c| c.currency.as_str()).collect();
    assert_eq!(codes, ["EUR", "USD"]);
    let (eur, usd) = (&r.currencies[0], &r.currencies[1]);
    assert_eq!(
        (eur.purchases, eur.refunds, eur.buyers, eur.repeat_buyers),
        (2, 1, 2, 0)
    );
    assert!(close(Some(eur.revenue), 90.0));
    assert_eq!(
        (eur.repeat_rate, eur.arpu, eur.arppu),
        (Some(0.0), Some(45.0), Some(45.0))
    );
    assert_eq!((usd.purchases, usd.refunds, usd.buyers), (1, 0, 1));
    assert_eq!((usd.arpu, usd.arppu), (Some(25.0), Some(50.0)));
    let points = |c: &CurrencyRevenue| -> Vec<(u32, usize, Option<f64>)> {
        assert_eq!(c.cohorts.len(), 1);
        assert_eq!(
            (c.cohorts[0].start.as_str(), c.cohorts[0].learners),
            (rfc3339(t0()).as_str(), 2)
        );
        c.cohorts[0]
            .points
            .iter()
            .map(|p| (p.day, p.eligible, p.ltv))
            .collect()
    };
    // EUR at day 10: a 100 (the refund is at E + 10 days), b 0 (the
    // purchase is at E + 10 days); at day 30: a 70, b 20.
    assert_eq!(points(eur), [(10, 2, Some(50.0)), (30, 2, Some(45.0))]);
    assert_eq!(points(usd), [(10, 2, Some(0.0)), (30, 2, Some(25.0))]);
    // As of day 20, b's 30-day value is not known yet: only a is eligible
    // at day 10 (b enrolled on day 1: 1 + 10 <= 20 too), nobody at day 30.
    let early = revenue(
        &state,
        Some(C),
        at(20.0),
        Some("EUR"),
        Period::Week,
        &[10, 30],
    );
    assert_eq!(early.invalid, 1, "invalid whatever the currency asked");
    assert_eq!(
        points(&early.currencies[0]),
        [(10, 2, Some(50.0)), (30, 0, None)]
    );
    // Only the currency asked.
    let only = revenue(&state, Some(C), at(40.0), Some("USD"), Period::Week, &[10]);
    assert_eq!(only.currencies.len(), 1);
    assert_eq!(only.currencies[0].currency, "USD");
}
