//! The parameters of a statement GET: one statement by id, or a query
//! (xAPI Communication 2.1.3), resumed from a `more` token.

use std::collections::HashMap;

use uuid::Uuid;

use super::more;
use crate::http::error::ApiError;
use crate::http::params::{
    iri_param, param_map, parse_agent_param, parse_query, parse_uuid_param, AgentParam,
};
use crate::store::StatementQuery;
use crate::xapi::datatypes::parse_timestamp;
use crate::xapi::format::Format;
use crate::xapi::XapiVersion;

/// The parsed parameters of a statement GET.
#[derive(Debug)]
pub(super) enum GetRequest {
    Single {
        id: Uuid,
        voided: bool,
        format: Format,
        attachments: bool,
    },
    Query {
        query: Box<StatementQuery>,
        format: Format,
        attachments: bool,
        params: String,
    },
}

const QUERY_PARAMS: [&str; 13] = [
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "more",
];

pub(super) fn parse_get(
    params: &[(String, String)],
    version: XapiVersion,
    max_page: usize,
) -> Result<GetRequest, ApiError> {
    let map = param_map(params, |name| {
        name == "statementId" || name == "voidedStatementId" || QUERY_PARAMS.contains(&name)
    })?;
    if let Some(token) = map.get("more") {
        if map.len() > 1 {
            return Err(ApiError::bad_param(
                "more",
                "a more link takes no other parameters",
            ));
        }
        return resume(token, version, max_page);
    }
    let format = match map.get("format") {
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::bad_param("format", "format must be ids, exact or canonical")
        })?,
        None => Format::Exact,
    };
    let attachments = bool_param(&map, "attachments")?;
    for single in ["statementId", "voidedStatementId"] {
        if let Some(value) = map.get(single) {
            if let Some(other) = map
                .keys()
                .find(|k| !matches!(**k, "format" | "attachments") && **k != single)
            {
                return Err(ApiError::bad_param(
                    other,
                    format!("{single} can only be combined with format and attachments"),
                ));
            }
            let id = parse_uuid_param(single, value)?;
            return Ok(GetRequest::Single {
                id,
                voided: single == "voidedStatementId",
                format,
                attachments,
            });
        }
    }
    let mut query = StatementQuery {
        limit: max_page,
        ..StatementQuery::default()
    };
    if let Some(agent) = map.get("agent") {
        query.agent = Some(parse_agent_param(agent, AgentParam::AgentOrGroup)?);
    }
    if let Some(verb) = map.get("verb") {
        query.verb = Some(iri_param("verb", verb)?);
    }
    if let Some(activity) = map.get("activity") {
        query.activity = Some(iri_param("activity", activity)?);
    }
    if let Some(registration) = map.get("registration") {
        query.registration = Some(parse_uuid_param("registration", registration)?.to_string());
    }
    query.related_agents = bool_param(&map, "related_agents")?;
    query.related_activities = bool_param(&map, "related_activities")?;
    query.ascending = bool_param(&map, "ascending")?;
    for (name, slot) in [
        ("since", &mut query.since_ms),
        ("until", &mut query.until_ms),
    ] {
        if let Some(value) = map.get(name) {
            let t = parse_timestamp(value, version).ok_or_else(|| {
                ApiError::bad_param(
                    name,
                    format!("{name} must be an ISO 8601 timestamp with a time zone"),
                )
            })?;
            *slot = Some(t.timestamp_millis());
        }
    }
    if let Some(limit) = map.get("limit") {
        let n: usize = limit
            .parse()
            .map_err(|_| ApiError::bad_param("limit", "limit must be a non-negative integer"))?;
        query.limit = if n == 0 { max_page } else { n.min(max_page) };
    }
    let params = serde_urlencoded::to_string(params).unwrap_or_default();
    Ok(GetRequest::Query {
        query: Box::new(query),
        format,
        attachments,
        params,
    })
}

fn bool_param(map: &HashMap<&str, &str>, name: &str) -> Result<bool, ApiError> {
    match map.get(name) {
        None => Ok(false),
        Some(&"true") => Ok(true),
        Some(&"false") => Ok(false),
        Some(_) => Err(ApiError::bad_param(
            name,
            format!("{name} must be true or false"),
        )),
    }
}

/// The query a `more` token continues, from its cursor on.
fn resume(token: &str, version: XapiVersion, max_page: usize) -> Result<GetRequest, ApiError> {
    let (params, cursor) = more::decode(token)?;
    let params = parse_query(&params)?;
    match parse_get(&params, version, max_page)? {
        GetRequest::Query {
            mut query,
            format,
            attachments,
            params,
        } => {
            query.after_seq = Some(cursor.after_seq);
            query.snapshot_seq = Some(cursor.snapshot_seq);
            Ok(GetRequest::Query {
                query,
                format,
                attachments,
                params,
            })
        }
        GetRequest::Single { .. } => Err(more::invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::statements::more::more_link;
    use crate::store::Cursor;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn statement_id_cannot_be_combined_with_filters() {
        let id = Uuid::new_v4().to_string();
        assert!(parse_get(
            &params(&[("statementId", &id), ("format", "ids")]),
            XapiVersion::V2_0,
            10
        )
        .is_ok());
        assert!(parse_get(
            &params(&[("statementId", &id), ("limit", "1")]),
            XapiVersion::V2_0,
            10
        )
        .is_err());
    }

    #[test]
    fn parameter_names_are_case_sensitive() {
        let err = parse_get(&params(&[("Limit", "1")]), XapiVersion::V2_0, 10).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest { path: Some(p), .. } if p == "Limit"));
    }

    #[test]
    fn more_tokens_resume_the_same_query() {
        let p = params(&[("verb", "http://x.io/v"), ("limit", "2")]);
        let GetRequest::Query {
            params: original, ..
        } = parse_get(&p, XapiVersion::V2_0, 10).unwrap()
        else {
            panic!()
        };
        let link = more_link(
            &original,
            Cursor {
                after_seq: 7,
                snapshot_seq: 9,
            },
        );
        let token = link.strip_prefix("/xapi/statements?more=").unwrap();
        let GetRequest::Query { query, .. } =
            parse_get(&params(&[("more", token)]), XapiVersion::V2_0, 10).unwrap()
        else {
            panic!()
        };
        assert_eq!(query.verb.as_deref(), Some("http://x.io/v"));
        assert_eq!(query.limit, 2);
        assert_eq!((query.after_seq, query.snapshot_seq), (Some(7), Some(9)));
    }

    #[test]
    fn limit_zero_means_the_server_maximum() {
        let GetRequest::Query { query, .. } =
            parse_get(&params(&[("limit", "0")]), XapiVersion::V2_0, 25).unwrap()
        else {
            panic!()
        };
        assert_eq!(query.limit, 25);
    }
}
