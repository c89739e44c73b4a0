//! The simulated school: programs, courses with lessons, a final
//! assessment and a price, surveys, and the people (learners, study groups).

use sha1::{Digest, Sha1};

pub const SCHOOL: &str = "https://school.example.com";

const COURSE_TITLES: [&str; 12] = [
    "Data Analysis with Python",
    "SQL for Analysts",
    "Intro to UX Research",
    "Cloud Fundamentals",
    "Project Management Essentials",
    "Machine Learning Basics",
    "Digital Marketing",
    "Public Speaking",
    "Spreadsheet Modelling",
    "Secure Coding",
    "Product Discovery",
    "Technical Writing",
];

const PROGRAMS: [(&str, &str); 3] = [
    ("data", "Data & Analytics"),
    ("product", "Product & Design"),
    ("career", "Career Skills"),
];

const FIRST_NAMES: [&str; 16] = [
    "Ana", "Bruno", "Chloé", "Dev", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Jia", "Kofi",
    "Lena", "Mateo", "Nadia", "Omar", "Priya",
];
const LAST_NAMES: [&str; 12] = [
    "Silva", "Novak", "Okafor", "Kim", "Martin", "Haddad", "Rossi", "Tanaka", "Schmidt", "Diaz",
    "Nguyen", "Larsen",
];

#[derive(Debug, Clone)]
pub struct Course {
    pub slug: String,
    pub title: String,
    pub lessons: u16,
    pub program: usize,
    /// Relative popularity when learners pick courses.
    pub popularity: f64,
    pub price: Price,
}

/// A list price in whole units of an ISO 4217 currency (no cents, so that
/// revenue sums stay exact in any analytics tool).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub amount: u32,
    pub currency: &'static str,
}

impl Course {
    pub fn iri(&self) -> String {
        format!("{SCHOOL}/courses/{}", self.slug)
    }
    pub fn lesson_iri(&self, lesson: u16) -> String {
        format!("{SCHOOL}/courses/{}/lessons/{}", self.slug, lesson + 1)
    }
    pub fn assessment_iri(&self) -> String {
        format!("{SCHOOL}/courses/{}/final-assessment", self.slug)
    }
    pub fn survey_iri(&self, survey: Survey) -> String {
        format!("{SCHOOL}/courses/{}/surveys/{}", self.slug, survey.slug())
    }
    pub fn live_session_iri(&self, week: u32) -> String {
        format!(
            "{SCHOOL}/courses/{}/live-sessions/week-{}",
            self.slug,
            week + 1
        )
    }
}

pub fn program_iri(program: usize) -> String {
    format!("{SCHOOL}/programs/{}", PROGRAMS[program % PROGRAMS.len()].0)
}

pub fn program_title(program: usize) -> &'static str {
    PROGRAMS[program % PROGRAMS.len()].1
}

pub const ONBOARDING_IRI: &str = "https://school.example.com/onboarding/welcome-tour";

/// Course `i`'s price: two courses in five sell in USD, two in EUR and one
/// in GBP, at one of six price points.
fn price(i: usize) -> Price {
    const AMOUNTS: [u32; 6] = [79, 99, 129, 49, 149, 199];
    const CURRENCIES: [&str; 5] = ["USD", "EUR", "USD", "EUR", "GBP"];
    Price {
        amount: AMOUNTS[i % AMOUNTS.len()],
        currency: CURRENCIES[i % CURRENCIES.len()],
    }
}

/// The catalogue: `count` courses, lesson counts 4 to 8, popularity falling
/// with the course number (a few courses take most enrolments).
pub fn courses(count: usize) -> Vec<Course> {
    (0..count)
        .map(|i| {
            let title = match COURSE_TITLES.get(i) {
                Some(t) => (*t).to_owned(),
                None => format!("Elective {}", i + 1),
            };
            let slug = title
                .to_ascii_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            Course {
                slug,
                title,
                lessons: 4 + (i as u16 * 3) % 5,
                program: i % PROGRAMS.len(),
                popularity: 1.0 / (1.0 + i as f64 * 0.6),
                price: price(i),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Survey {
    Nps,
    Csat,
    Ces,
}

impl Survey {
    pub fn slug(self) -> &'static str {
        match self {
            Survey::Nps => "nps",
            Survey::Csat => "csat",
            Survey::Ces => "ces",
        }
    }
    pub fn activity_type(self) -> String {
        format!("urn:trellis:cx:activity-type:{}", self.slug())
    }
    pub fn scale(self) -> (u8, u8) {
        match self {
            Survey::Nps => (0, 10),
            Survey::Csat => (1, 5),
            Survey::Ces => (1, 7),
        }
    }
    pub fn question(self) -> &'static str {
        match self {
            Survey::Nps => "How likely are you to recommend this course to a friend or colleague?",
            Survey::Csat => "How satisfied are you with this lesson?",
            Survey::Ces => "How easy was it to take the final assessment?",
        }
    }
}

/// How a learner is identified: every inverse functional identifier kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfiKind {
    Mbox,
    MboxSha1,
    OpenId,
    Account,
}

/// Learner `n`'s identity. The kind cycles with weights mbox 50%,
/// account 25%, mbox_sha1sum 15%, openid 10%, fixed by `n` so that a
/// learner keeps one identity in every statement.
pub fn learner_ifi(n: u32) -> IfiKind {
    match n % 20 {
        0..=9 => IfiKind::Mbox,
        10..=14 => IfiKind::Account,
        15..=17 => IfiKind::MboxSha1,
        _ => IfiKind::OpenId,
    }
}

pub fn learner_name(n: u32) -> String {
    let first = FIRST_NAMES[(n as usize) % FIRST_NAMES.len()];
    let last = LAST_NAMES[(n as usize / FIRST_NAMES.len()) % LAST_NAMES.len()];
    format!("{first} {last}")
}

/// The Agent object of learner `n`.
pub fn learner_agent(n: u32) -> serde_json::Value {
    let name = learner_name(n);
    let mailbox = format!("mailto:learner{n}@learners.example.com");
    let mut agent = serde_json::Map::new();
    agent.insert("objectType".into(), "Agent".into());
    agent.insert("name".into(), name.into());
    match learner_ifi(n) {
        IfiKind::Mbox => {
            agent.insert("mbox".into(), mailbox.into());
        }
        IfiKind::MboxSha1 => {
            let digest = Sha1::digest(mailbox.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            agent.insert("mbox_sha1sum".into(), hex.into());
        }
        IfiKind::OpenId => {
            agent.insert(
                "openid".into(),
                format!("https://id.example.org/learners/{n}").into(),
            );
        }
        IfiKind::Account => {
            agent.insert(
                "account".into(),
                serde_json::json!({"homePage": "https://sso.school.example.com", "name": format!("u{n:07}")}),
            );
        }
    }
    serde_json::Value::Object(agent)
}

/// The school's back office, which voids statements recorded by mistake.
pub fn registrar_agent() -> serde_json::Value {
    serde_json::json!({
        "objectType": "Agent",
        "name": "Registrar",
        "account": {"homePage": SCHOOL, "name": "registrar"}
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn catalogue_slugs_are_distinct_and_lessons_in_range() {
        let list = courses(20);
        let mut slugs: Vec<_> = list.iter().map(|c| c.slug.clone()).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), 20);
        assert!(list.iter().all(|c| (4..=8).contains(&c.lessons)));
        assert_eq!(list[0].slug, "data-analysis-with-python");
    }

    #[test]
    fn most_courses_sell_in_usd_or_eur_and_some_in_gbp() {
        let list = courses(20);
        let count = |code: &str| list.iter().filter(|c| c.price.currency == code).count();
        assert_eq!((count("USD"), count("EUR"), count("GBP")), (8, 8, 4));
        assert!(list.iter().all(|c| c.price.amount > 0));
        let amounts: BTreeSet<u32> = list.iter().map(|c| c.price.amount).collect();
        assert!(amounts.len() >= 5, "{amounts:?}");
    }

    #[test]
    fn every_ifi_kind_is_used_among_twenty_learners() {
        let kinds: Vec<IfiKind> = (0..20).map(learner_ifi).collect();
        for k in [
            IfiKind::Mbox,
            IfiKind::MboxSha1,
            IfiKind::OpenId,
            IfiKind::Account,
        ] {
            assert!(kinds.contains(&k));
        }
    }
}
