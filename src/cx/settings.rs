//! How the CX metrics read statements: the analytics settings, their
//! defaults and their checks. `config` fills them from the `[analytics]`
//! table, `TRELLIS_ANALYTICS_*` variables and flags; facts keep raw values,
//! so every setting applies at answer time (no rebuild when it changes).

use std::collections::BTreeMap;

use super::metrics::SurveyKind;

/// The verbs that complete an Activity unless configured otherwise.
pub const DEFAULT_COMPLETION_VERBS: [&str; 3] = [
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/passed",
    "https://w3id.org/xapi/adl/verbs/satisfied",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Verb IRIs that complete an Activity.
    pub completion_verbs: Vec<String>,
    /// Default `result.score.scaled` threshold of competency.
    pub competency_threshold: f64,
    /// Per-Activity thresholds.
    pub competency_thresholds: BTreeMap<String, f64>,
    /// Further activity types counted as a survey (beyond the
    /// `urn:trellis:cx:activity-type:*` ones).
    pub survey_types: BTreeMap<String, SurveyKind>,
    /// Activities always exported to Prometheus.
    pub exported_activities: Vec<String>,
    /// Plus this many Activities with the most enrolled learners.
    pub export_top: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            completion_verbs: DEFAULT_COMPLETION_VERBS.map(str::to_owned).to_vec(),
            competency_threshold: 0.8,
            competency_thresholds: BTreeMap::new(),
            survey_types: BTreeMap::new(),
            exported_activities: Vec::new(),
            export_top: 10,
        }
    }
}

impl Settings {
    /// The `survey_types` table as written in a settings file (activity
    /// type to `nps`, `csat` or `ces`).
    pub fn parse_survey_types(
        raw: BTreeMap<String, String>,
    ) -> anyhow::Result<BTreeMap<String, SurveyKind>> {
        raw.into_iter()
            .map(|(activity_type, kind)| match SurveyKind::parse(&kind) {
                Some(k) => Ok((activity_type, k)),
                None => anyhow::bail!("survey_types: {kind:?} must be nps, csat or ces"),
            })
            .collect()
    }

    /// Refuses thresholds a scaled score can never be compared with.
    pub fn validate(&self) -> anyhow::Result<()> {
        valid_threshold(self.competency_threshold, "competency_threshold")?;
        for (activity, &t) in &self.competency_thresholds {
            valid_threshold(t, &format!("competency_thresholds.{activity:?}"))?;
        }
        Ok(())
    }
}

/// A threshold on `result.score.scaled`, which lies in [-1, 1].
fn valid_threshold(t: f64, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        t.is_finite() && (-1.0..=1.0).contains(&t),
        "{what} must be a number from -1 to 1, not {t}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn survey_types_parse_the_three_kinds_and_name_any_other() {
        let raw = |k: &str| BTreeMap::from([("http://type".to_owned(), k.to_owned())]);
        let parsed = Settings::parse_survey_types(raw("csat")).unwrap();
        assert_eq!(parsed.get("http://type"), Some(&SurveyKind::Csat));
        let message = Settings::parse_survey_types(raw("stars"))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("\"stars\" must be nps, csat or ces"),
            "{message}"
        );
    }

    #[test]
    fn a_threshold_outside_the_scaled_score_range_is_refused() {
        for bad in [1.5, -1.01, f64::NAN, f64::INFINITY] {
            let s = Settings {
                competency_threshold: bad,
                ..Settings::default()
            };
            assert!(s.validate().is_err(), "{bad}");
        }
        let mut s = Settings::default();
        s.competency_thresholds.insert("http://course".into(), 2.0);
        let message = s.validate().unwrap_err().to_string();
        assert!(message.contains("http://course"), "{message}");
        s.competency_thresholds.insert("http://course".into(), -1.0);
        assert!(s.validate().is_ok());
    }
}
