//! The settings resolved against the index's interned ids, once per
//! answer, so the metrics compare integers.

use std::collections::{HashMap, HashSet};

use super::SurveyKind;
use crate::cx::index::Index;
use crate::cx::Settings;

/// The verbs that mean competency (fixed by the definition).
pub const COMPETENCY_VERBS: [&str; 2] = [
    "http://adlnet.gov/expapi/verbs/passed",
    "https://w3id.org/xapi/tla/verbs/mastered",
];

/// Configuration resolved against the index's interned ids.
pub(super) struct Resolved {
    pub completion_verbs: HashSet<u32>,
    pub competency_verbs: HashSet<u32>,
    pub survey_types: HashMap<u32, SurveyKind>,
}

impl Resolved {
    pub fn new(index: &Index, settings: &Settings) -> Resolved {
        let verbs = |list: &mut dyn Iterator<Item = &str>| -> HashSet<u32> {
            list.filter_map(|v| index.verbs.get(v)).collect()
        };
        let mut survey_types = HashMap::new();
        for kind in SurveyKind::ALL {
            if let Some(id) = index.types.get(&kind.activity_type()) {
                survey_types.insert(id, kind);
            }
        }
        for (activity_type, kind) in &settings.survey_types {
            if let Some(id) = index.types.get(activity_type) {
                survey_types.insert(id, *kind);
            }
        }
        Resolved {
            completion_verbs: verbs(&mut settings.completion_verbs.iter().map(String::as_str)),
            competency_verbs: verbs(&mut COMPETENCY_VERBS.iter().copied()),
            survey_types,
        }
    }
}
