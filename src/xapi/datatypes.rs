//! Syntax checks for the xAPI scalar data types a JSON Schema cannot express:
//! UUIDs, IRIs, mailto IRIs, hashes, language tags, timestamps, durations,
//! media types.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use iri_string::types::IriStr;

use super::version::XapiVersion;

pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

/// An absolute IRI (RFC 3987): a scheme followed by a valid hierarchy.
pub fn is_iri(s: &str) -> bool {
    IriStr::new(s).is_ok() && s.contains(':')
}

/// `mailto:` followed by an address with a local part and a domain.
pub fn is_mailto(s: &str) -> bool {
    let Some(address) = s.strip_prefix("mailto:") else {
        return false;
    };
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty() && !domain.is_empty() && !address.contains(char::is_whitespace) && is_iri(s)
}

pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A well-formed BCP 47 language tag.
pub fn is_language_tag(s: &str) -> bool {
    language_tags::LanguageTag::parse(s).is_ok_and(|t| t.validate().is_ok())
}

/// An ISO 8601 duration (`PT1H30M`, `P1DT2.5S`, `P3W`). Weeks stand alone:
/// ISO 8601 does not combine `W` with other designators.
pub fn is_duration(s: &str) -> bool {
    let weeks_alone = !s.contains('W')
        || (s.ends_with('W')
            && s[1..s.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b','));
    weeks_alone
        && s.starts_with('P')
        && s.len() > 1
        && !s.ends_with('T')
        && iso8601::duration(s).is_ok()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b".,PYMWDTHS".contains(&b))
}

/// Parses a statement `timestamp` (or a query's `since` / `until`).
///
/// Both versions require a date and a time with seconds; an offset of
/// `-00:00` (RFC 3339's "unknown local offset") is rejected. xAPI 1.0.x also
/// accepts ISO 8601 forms without an offset (read as UTC) and compact
/// offsets (`+0100`, `+01`); 2.0 requires RFC 3339.
pub fn parse_timestamp(s: &str, version: XapiVersion) -> Option<DateTime<Utc>> {
    if s.ends_with("-00:00") || s.ends_with("-0000") || s.ends_with("-00") {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if version.is_2_0() {
        return None;
    }
    // ISO 8601 extended and basic forms, with a numeric offset, `Z`, or none
    // (read as UTC).
    for format in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y%m%dT%H%M%S%.f%#z"] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(s, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = s.strip_suffix('Z').unwrap_or(s);
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y%m%dT%H%M%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(naive, format).ok())
        .filter(|t| t.date() > NaiveDate::MIN)
        .map(|t| t.and_utc())
}

/// The one format Trellis writes: RFC 3339, UTC, milliseconds.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The media type of an Internet Media Type value (an attachment's
/// `contentType`, a `Content-Type` header), lower-cased, without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_need_the_hyphenated_form() {
        assert!(is_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaa0"));
        assert!(!is_uuid("fd41c918b88b4b20a0a5a4c32391aaa0"));
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    fn iris_must_be_absolute() {
        assert!(is_iri("http://adlnet.gov/expapi/verbs/completed"));
        assert!(is_iri("urn:trellis:cx:activity-type:nps"));
        assert!(is_iri("http://例え.テスト/ä"));
        assert!(!is_iri("verbs/completed"));
        assert!(!is_iri("http://exa mple.com"));
    }

    #[test]
    fn mailto_needs_an_address() {
        assert!(is_mailto("mailto:ana@example.com"));
        assert!(!is_mailto("ana@example.com"));
        assert!(!is_mailto("mailto:"));
        assert!(!is_mailto("mailto:ana"));
    }

    #[test]
    fn language_tags_follow_bcp47() {
        for ok in ["en", "en-US", "zh-Hant-TW", "und", "es-419"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "english language", "e", "en_US", "123"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn durations_follow_iso8601() {
        for ok in ["PT1H", "P1DT2.5S", "P3W", "PT0.0001S", "P1Y2M3DT4H5M6S"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in [
            "", "P", "PT", "1H", "PT1H ", "P1H", "abc", "P4W1D", "P1DT4W",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn timestamps_by_version() {
        let v1 = XapiVersion::V1_0;
        let v2 = XapiVersion::V2_0;
        assert!(parse_timestamp("2013-05-18T05:32:34.804Z", v2).is_some());
        assert!(parse_timestamp("2013-05-18T05:32:34.804+01:00", v2).is_some());
        assert!(parse_timestamp("2013-05-18T05:32:34.804-00:00", v2).is_none());
        assert!(parse_timestamp("2013-05-18T05:32:34.804-00:00", v1).is_none());
        assert!(parse_timestamp("2013-05-18T05:32:34", v2).is_none());
        assert!(parse_timestamp("2013-05-18T05:32:34", v1).is_some());
        assert!(parse_timestamp("2013-05-18T05:32:34+0100", v1).is_some());
        assert!(parse_timestamp("2013-05-18", v1).is_none());
        assert!(parse_timestamp("20150601T120000Z", v1).is_some());
        assert!(parse_timestamp("20150601T120000+0100", v1).is_some());
        assert!(parse_timestamp("20150601T120000Z", v2).is_none());
        assert!(parse_timestamp("not a time", v1).is_none());
    }

    #[test]
    fn offsets_are_converted_to_utc_milliseconds() {
        let t = parse_timestamp("2013-05-18T05:32:34.8041+01:00", XapiVersion::V2_0).unwrap();
        assert_eq!(format_timestamp(t), "2013-05-18T04:32:34.804Z");
    }
}
