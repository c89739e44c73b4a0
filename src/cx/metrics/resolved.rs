//! Verb lists the definitions fix.

/// The verbs that mean competency (fixed by the definition).
pub const COMPETENCY_VERBS: [&str; 2] = [
    "http://adlnet.gov/expapi/verbs/passed",
    "https://w3id.org/xapi/tla/verbs/mastered",
];
