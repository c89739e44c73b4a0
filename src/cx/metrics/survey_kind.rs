//! The three survey scales (NPS 0-10, CSAT 1-5, CES 1-7).

use serde::Serialize;

/// The three survey scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SurveyKind {
    Nps,
    Csat,
    Ces,
}

impl SurveyKind {
    pub const ALL: [SurveyKind; 3] = [SurveyKind::Nps, SurveyKind::Csat, SurveyKind::Ces];

    pub fn parse(s: &str) -> Option<SurveyKind> {
        match s {
            "nps" => Some(SurveyKind::Nps),
            "csat" => Some(SurveyKind::Csat),
            "ces" => Some(SurveyKind::Ces),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SurveyKind::Nps => "nps",
            SurveyKind::Csat => "csat",
            SurveyKind::Ces => "ces",
        }
    }

    /// The activity type that means this survey by default.
    pub fn activity_type(self) -> String {
        format!("urn:trellis:cx:activity-type:{}", self.as_str())
    }

    /// The valid answer, if `raw` is a point of the scale.
    pub fn point(self, raw: f64) -> Option<u8> {
        let (low, high) = match self {
            SurveyKind::Nps => (0.0, 10.0),
            SurveyKind::Csat => (1.0, 5.0),
            SurveyKind::Ces => (1.0, 7.0),
        };
        (raw.fract() == 0.0 && (low..=high).contains(&raw)).then_some(raw as u8)
    }
}
