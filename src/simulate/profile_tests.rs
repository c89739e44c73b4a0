//! The CX xAPI Profile (`schemas/cx-profile.jsonld`) read as a machine
//! would: its statement templates' rules (JSONPath locations, presence,
//! any / all / none) and its extensions' inline JSON Schemas, applied to
//! the profile's own examples and to the simulator's surveys, purchases,
//! refunds and exposures.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::Value;
use serde_json_path::JsonPath as Path;

use super::journey::{Defect, Kind};
use super::render::{
    AMOUNT_EXTENSION, CURRENCY_EXTENSION, EXPERIMENT_EXTENSION, PURCHASE_VERB, REFUND_VERB,
};
use super::*;
use crate::xapi::{JsonPath, Statement, XapiVersion};

const PROFILE: &str = include_str!("../../schemas/cx-profile.jsonld");
const EXAMPLES: &str = include_str!("../../schemas/cx-profile-examples.json");

struct Profile {
    doc: Value,
    /// Each extension with an inline schema: (IRI, concept type, schema).
    extensions: Vec<(String, String, jsonschema::Validator)>,
    /// The rules' JSONPaths, parsed.
    paths: HashMap<String, Path>,
}

impl Profile {
    fn load() -> Profile {
        let doc: Value = serde_json::from_str(PROFILE).unwrap();
        let extensions = doc["concepts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| {
                let schema: Value = serde_json::from_str(c["inlineSchema"].as_str()?).unwrap();
                let validator = jsonschema::validator_for(&schema).unwrap();
                let id = c["id"].as_str().unwrap().to_owned();
                Some((id, c["type"].as_str().unwrap().to_owned(), validator))
            })
            .collect();
        let mut paths = HashMap::new();
        for t in doc["templates"].as_array().unwrap() {
            for rule in t["rules"].as_array().unwrap() {
                for key in ["location", "selector"] {
                    if let Some(p) = rule[key].as_str() {
                        paths.insert(p.to_owned(), Path::parse(p).unwrap());
                    }
                }
            }
        }
        Profile {
            doc,
            extensions,
            paths,
        }
    }

    fn template(&self, id: &str) -> &Value {
        self.doc["templates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap_or_else(|| panic!("no template {id}"))
    }

    /// How `statement` breaks template `id` and the extension schemas
    /// (empty when it follows them).
    fn violations(&self, id: &str, statement: &Value) -> Vec<String> {
        let t = self.template(id);
        let mut out = Vec::new();
        if let Some(verb) = t["verb"].as_str() {
            if statement["verb"]["id"] != verb {
                out.push(format!("verb is not {verb}"));
            }
        }
        if let Some(kind) = t["objectActivityType"].as_str() {
            if statement["object"]["definition"]["type"] != kind {
                out.push(format!("object type is not {kind}"));
            }
        }
        for rule in t["rules"].as_array().unwrap() {
            let location = rule["location"].as_str().unwrap();
            let mut values = self.paths[location].query(statement).all();
            if let Some(selector) = rule["selector"].as_str() {
                let selector = &self.paths[selector];
                values = values
                    .into_iter()
                    .flat_map(|v| selector.query(v).all())
                    .collect();
            }
            let presence = rule["presence"].as_str();
            if presence == Some("recommended") && values.is_empty() {
                continue;
            }
            let listed = |key: &str, v: &Value| rule[key].as_array().unwrap().contains(v);
            let broken = match presence {
                Some("included") => values.is_empty(),
                Some("excluded") => !values.is_empty(),
                _ => false,
            } || (rule.get("any").is_some()
                && !values.iter().any(|v| listed("any", v)))
                || (rule.get("all").is_some()
                    && (values.is_empty() || !values.iter().all(|v| listed("all", v))))
                || (rule.get("none").is_some() && values.iter().any(|v| listed("none", v)));
            if broken {
                out.push(format!("rule {location}: {values:?}"));
            }
        }
        for (iri, kind, schema) in &self.extensions {
            let (used, elsewhere) = match kind.as_str() {
                "ResultExtension" => (&statement["result"], &statement["context"]),
                _ => (&statement["context"], &statement["result"]),
            };
            if let Some(value) = used["extensions"].get(iri) {
                if !schema.is_valid(value) {
                    out.push(format!("{iri} = {value} breaks its schema"));
                }
            }
            if elsewhere["extensions"].get(iri).is_some() {
                out.push(format!("{iri} is a {kind}, used elsewhere"));
            }
        }
        out
    }
}

/// The template a statement is meant to follow.
fn template_of(statement: &Value) -> &'static str {
    let verb = statement["verb"]["id"].as_str().unwrap();
    let kind = statement["object"]["definition"]["type"].as_str();
    if verb == PURCHASE_VERB {
        "urn:trellis:cx:template:purchase"
    } else if verb == REFUND_VERB {
        "urn:trellis:cx:template:refund"
    } else if kind == Some("urn:trellis:cx:activity-type:nps") {
        "urn:trellis:cx:template:nps-answer"
    } else if kind == Some("urn:trellis:cx:activity-type:csat") {
        "urn:trellis:cx:template:csat-answer"
    } else if kind == Some("urn:trellis:cx:activity-type:ces") {
        "urn:trellis:cx:template:ces-answer"
    } else {
        "urn:trellis:cx:template:exposure"
    }
}

#[test]
fn the_profile_describes_every_concept_of_its_latest_version() {
    let profile = Profile::load();
    let doc = &profile.doc;
    assert_eq!(doc["@context"], "https://w3id.org/xapi/profiles/context");
    assert_eq!(doc["type"], "Profile");
    let version = doc["versions"][0]["id"].as_str().unwrap();
    assert_eq!(
        doc["versions"][0]["wasRevisionOf"][0],
        doc["versions"][1]["id"]
    );
    let concepts = doc["concepts"].as_array().unwrap();
    let templates = doc["templates"].as_array().unwrap();
    for thing in concepts.iter().chain(templates) {
        assert_eq!(thing["inScheme"], version, "{thing}");
        assert!(thing["prefLabel"]["en"].is_string(), "{thing}");
        assert!(thing["definition"]["en"].is_string(), "{thing}");
    }
    let typed = |iri: &str| {
        concepts
            .iter()
            .find(|c| c["id"] == iri)
            .map(|c| c["type"].as_str().unwrap())
    };
    assert_eq!(typed(PURCHASE_VERB), Some("Verb"));
    assert_eq!(typed(REFUND_VERB), Some("Verb"));
    assert_eq!(typed(AMOUNT_EXTENSION), Some("ResultExtension"));
    assert_eq!(typed(CURRENCY_EXTENSION), Some("ResultExtension"));
    assert_eq!(typed(EXPERIMENT_EXTENSION), Some("ContextExtension"));
    assert_eq!(profile.extensions.len(), 3);
    for t in templates {
        assert_eq!(t["type"], "StatementTemplate");
        for rule in t["rules"].as_array().unwrap() {
            assert!(Path::parse(rule["location"].as_str().unwrap()).is_ok());
            assert!(["presence", "any", "all", "none"]
                .iter()
                .any(|k| rule.get(*k).is_some()));
        }
    }
    // The extension schemas say what the metric definitions say.
    let valid = |iri: &str, value: Value| {
        let (_, _, schema) = profile.extensions.iter().find(|e| e.0 == iri).unwrap();
        schema.is_valid(&value)
    };
    assert!(valid(AMOUNT_EXTENSION, serde_json::json!(0)));
    assert!(valid(AMOUNT_EXTENSION, serde_json::json!(79.99)));
    assert!(!valid(AMOUNT_EXTENSION, serde_json::json!(-1)));
    assert!(!valid(AMOUNT_EXTENSION, serde_json::json!("79")));
    assert!(valid(CURRENCY_EXTENSION, serde_json::json!("GBP")));
    for bad in ["gbp", "GB", "GBPX", "ÉUR"] {
        assert!(!valid(CURRENCY_EXTENSION, serde_json::json!(bad)), "{bad}");
    }
    let x = |v: Value| valid(EXPERIMENT_EXTENSION, v);
    assert!(x(serde_json::json!({"id": "a", "variant": "b"})));
    assert!(!x(serde_json::json!({"id": "a"})));
    assert!(!x(serde_json::json!({"id": "a", "variant": 2})));
    assert!(!x(serde_json::json!("a/b")));
}

#[test]
fn the_profile_examples_are_valid_statements_that_follow_their_templates() {
    let profile = Profile::load();
    let examples: Vec<Value> = serde_json::from_str(EXAMPLES).unwrap();
    let mut used: Vec<&str> = examples.iter().map(template_of).collect();
    for s in &examples {
        Statement::parse(s.clone(), XapiVersion::V2_0, &JsonPath::root()).unwrap();
        let broken = profile.violations(template_of(s), s);
        assert!(broken.is_empty(), "{broken:?} in {s}");
    }
    used.sort();
    used.dedup();
    // One example at least of every template.
    assert_eq!(
        used.len(),
        profile.doc["templates"].as_array().unwrap().len()
    );
    // The checker can fail: a Group's purchase in lowercase currency.
    let mut bad = examples
        .iter()
        .find(|s| s["verb"]["id"] == PURCHASE_VERB)
        .unwrap()
        .clone();
    bad["actor"]["objectType"] = "Group".into();
    bad["actor"]["member"] = serde_json::json!([]);
    bad["result"]["extensions"][CURRENCY_EXTENSION] = "eur".into();
    assert_eq!(
        profile
            .violations("urn:trellis:cx:template:purchase", &bad)
            .len(),
        2
    );
}

#[test]
fn simulated_surveys_purchases_refunds_and_exposures_follow_the_profile() {
    let profile = Profile::load();
    let simulation = Simulation::generate(&Params {
        seed: 3,
        learners: 3_000,
        courses: 6,
        days: 120,
        start: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
    });
    let mut checked = [0usize; 4];
    let mut defects = Vec::new();
    for event in simulation.events() {
        let survey = matches!(event.kind, Kind::Survey { .. });
        let money = matches!(event.kind, Kind::Purchased { .. } | Kind::Refunded { .. });
        if !survey && !money && event.exposure.is_none() {
            continue;
        }
        let s = render::statement(event, &simulation.courses);
        // Malformed for revenue, yet valid xAPI (every kind of statement is
        // checked on a smaller population in `tests.rs`).
        if money {
            for version in [XapiVersion::V2_0, XapiVersion::V1_0] {
                if let Err(e) = Statement::parse(s.clone(), version, &JsonPath::root()) {
                    panic!("{e} in {s}");
                }
            }
        }
        let mut broken = profile.violations(template_of(&s), &s);
        if event.exposure.is_some() {
            broken.extend(profile.violations("urn:trellis:cx:template:exposure", &s));
        }
        match event.kind {
            Kind::Purchased {
                defect: Some(d), ..
            } => {
                assert!(!broken.is_empty(), "{d:?} follows the profile: {s}");
                defects.push(d);
            }
            _ => assert!(broken.is_empty(), "{broken:?} in {s}"),
        }
        let i = match event.kind {
            Kind::Survey { .. } => 0,
            Kind::Purchased { .. } => 1,
            Kind::Refunded { .. } => 2,
            _ => 3,
        };
        checked[i] += 1;
    }
    let [surveys, purchases, refunds, exposed] = checked;
    assert!(surveys > 1_000, "{checked:?}");
    assert!(purchases > 3_000, "{checked:?}");
    assert!(refunds > 100, "{checked:?}");
    assert!(exposed > 3_000, "{checked:?}");
    for d in [
        Defect::LowercaseCurrency,
        Defect::AmountAsText,
        Defect::NoCurrency,
    ] {
        assert!(defects.contains(&d), "no {d:?} among {defects:?}");
    }
}
