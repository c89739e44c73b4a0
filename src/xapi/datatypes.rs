//! Syntax checks for the xAPI scalar data types a JSON Schema cannot express:
//! UUIDs, IRIs, mailto IRIs, hashes, language tags, timestamps, durations,
//! media types.

use chrono::{DateTime, Datelike as _, FixedOffset, NaiveDate, NaiveDateTime, Utc};
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

/// An ISO 8601 duration in the designator form xAPI uses (`PT1H30M`,
/// `P1DT2.5S`, `P3W`, `P0.5D`).
///
/// `P`, then date components in the order `Y`, `M`, `D`, then optionally
/// `T` and time components in the order `H`, `M`, `S`; at least one
/// component, at least one after `T`. Each is a run of ASCII digits, with a
/// decimal fraction (`.` or `,`) allowed on the last component only. Weeks
/// stand alone: ISO 8601 does not combine `W` with other designators.
///
/// Written as a scanner over chars, not slices, so no input can make it
/// panic (issue 12: the old check sliced untrusted text). The `iso8601`
/// crate was not used: it ignores trailing text, limits values to `u32`
/// and allows no fraction but on seconds.
pub fn is_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else {
        return false;
    };
    if let Some(weeks) = rest.strip_suffix('W') {
        return is_decimal(weeks);
    }
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut components = 0;
    let mut fraction_seen = false;
    let date_ok = designated(date, "YMD", &mut components, &mut fraction_seen);
    let time_ok = match time {
        None => true,
        Some(time) => {
            let before = components;
            designated(time, "HMS", &mut components, &mut fraction_seen) && components > before
        }
    };
    date_ok && time_ok && components > 0
}

/// Reads `<number><designator>` pairs from `text`, designators in the
/// order of `order`, each at most once; counts them into `components`. A
/// fraction, once seen, must be on the last component of the whole
/// duration.
fn designated(text: &str, order: &str, components: &mut usize, fraction_seen: &mut bool) -> bool {
    let mut allowed = order.chars();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' || c == ',' {
            number.push(c);
            continue;
        }
        // The designator must come later in `order` than the previous one.
        if !allowed.by_ref().any(|d| d == c) || *fraction_seen || !is_decimal(&number) {
            return false;
        }
        *fraction_seen = number.contains(['.', ',']);
        *components += 1;
        number.clear();
    }
    number.is_empty()
}

/// One or more ASCII digits, optionally followed by `.` or `,` and one or
/// more digits.
fn is_decimal(s: &str) -> bool {
    let (whole, fraction) = match s.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// Parses a statement `timestamp` (or a query's `since` / `until`).
///
/// Both versions require a date and a time with seconds; an offset of
/// `-00:00` (RFC 3339's "unknown local offset") is rejected. xAPI 1.0.x also
/// accepts ISO 8601 forms without an offset (read as UTC) and compact
/// offsets (`+0100`, `+01`); 2.0 requires RFC 3339.
///
/// Only instants in years 0001 to 9999 (in UTC) are accepted: Trellis stores
/// timestamps as RFC 3339 in UTC, which has four-digit years, so anything
/// else would be stored in a form it refuses when sent back (`export` then
/// `import`).
pub fn parse_timestamp(s: &str, version: XapiVersion) -> Option<DateTime<Utc>> {
    parse_any_year(s, version).filter(|t| (1..=9999).contains(&t.year()))
}

fn parse_any_year(s: &str, version: XapiVersion) -> Option<DateTime<Utc>> {
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

/// An Internet Media Type value safe to write into a header: `type/subtype`
/// in RFC 6838 name syntax, then any parameters `; name=value` (RFC 9110:
/// the name a token, the value a token or a quoted string), printable
/// ASCII only (no control characters, so no CR/LF header injection).
pub fn is_media_type(s: &str) -> bool {
    let mut params = s.split(';');
    let essence = params.next().unwrap_or_default();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    is_restricted_name(kind)
        && is_restricted_name(subtype.trim_end_matches(is_ows))
        && split_parameters(s).is_some_and(|ps| ps.iter().all(|p| is_parameter(p)))
}

/// RFC 6838 4.2 `restricted-name`: a letter or digit, then up to 126 of
/// letters, digits and `!#$&-^_.+`.
fn is_restricted_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 127
        && chars.all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
}

fn is_ows(c: char) -> bool {
    c == ' '
}

/// RFC 9110 `token` characters.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The `;`-separated parameters after the essence, splitting only outside
/// quoted strings; `None` when a quoted string is not closed.
fn split_parameters(s: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut essence_done = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == ';' && !quoted {
            if essence_done {
                parts.push(std::mem::take(&mut current));
            }
            essence_done = true;
            current.clear();
            continue;
        }
        current.push(c);
    }
    if quoted || escaped {
        return None;
    }
    if essence_done {
        parts.push(current);
    }
    Some(parts)
}

/// One parameter: OWS token "=" (token / quoted-string) OWS.
fn is_parameter(p: &str) -> bool {
    let p = p.trim_matches(is_ows);
    let Some((name, value)) = p.split_once('=') else {
        return false;
    };
    let token = |t: &str| !t.is_empty() && t.chars().all(is_tchar);
    token(name) && (token(value) || is_quoted_string(value))
}

/// `"` then printable ASCII (a backslash escapes the next one) then `"`.
fn is_quoted_string(v: &str) -> bool {
    let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return false;
    };
    let mut escaped = false;
    for c in inner.chars() {
        if !(c == ' ' || c.is_ascii_graphic()) {
            return false;
        }
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return false;
        }
    }
    !escaped
}

/// `content_type` when it is a valid media type, else
/// `application/octet-stream`: what a response header may carry of a value
/// that was stored before it was checked (or came from elsewhere).
pub fn header_safe_media_type(content_type: &str) -> &str {
    if is_media_type(content_type) {
        content_type
    } else {
        "application/octet-stream"
    }
}

/// A value safe to write into an HTTP header as it is: visible ASCII and
/// spaces, no control characters (CR, LF, NUL...), no leading or trailing
/// space. Every header Trellis derives from stored or client data is
/// checked with this (or a stricter check) before it is written.
pub fn is_header_safe(s: &str) -> bool {
    s.chars().all(|c| c == ' ' || c.is_ascii_graphic()) && s.trim() == s
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
        for ok in [
            "PT1H",
            "P1DT2.5S",
            "P3W",
            "PT0.0001S",
            "P1Y2M3DT4H5M6S",
            "PT1H0M0.1S",
            "PT16559.14S",
            "P3Y1M29DT4H35M59.14S",
            "P0.5D",
            "PT1,5S",
            "PT99999999999999999999S",
        ] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in [
            "",
            "P",
            "PT",
            "1H",
            "PT1H ",
            "P1H",
            "abc",
            "P4W1D",
            "P1DT4W",
            "PA1H0M0S",
            "W",
            "éW",
            "PéW",
            "P1.5DT1H",
            "P1M1Y",
            "PT1S1M",
            "P1D1D",
            "PT.5S",
            "PT5.S",
            "P1DT",
            "PT1H garbage",
            "P1W2W",
            "PW",
            "P-1D",
            "P1.2.3D",
            "P1DTT1H",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn media_types_follow_rfc6838_with_parameters() {
        for ok in [
            "text/plain",
            "text/plain; charset=ascii",
            "text/plain;charset=utf-8",
            "application/octet-stream",
            "application/vnd.api+json",
            "image/svg+xml",
            "multipart/mixed; boundary=\"a;b c\"",
            "text/plain; charset=\"utf\\\"8\"",
            "application/x-www-form-urlencoded ; a=b; c=d",
        ] {
            assert!(is_media_type(ok), "{ok}");
        }
        for bad in [
            "",
            "text",
            "text/",
            "/plain",
            "text/plain\r\nX-Injected: 1",
            "text/plain\r\n\r\nfake body",
            "text/plain; charset=utf-8\r\nX-Injected: 1",
            "text/plain; a=\"b\r\nc\"",
            "text/plain\n",
            "text/pl ain",
            "te xt/plain",
            "text/plain; charset",
            "text/plain; charset=",
            "text/plain; =x",
            "text/plain; a=\"unclosed",
            "text/plain;",
            "tëxt/plain",
            "text/plain\u{0}",
            "text/plain; a=b\tc",
            "*/*",
            "text/plain/x",
        ] {
            assert!(!is_media_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn header_safe_values_have_no_control_characters() {
        assert!(is_header_safe("text/plain; charset=utf-8"));
        assert!(is_header_safe("\"abc\""));
        for bad in ["a\r\nb", "a\nb", "a\u{0}", " a", "a ", "é", "a\tb"] {
            assert!(!is_header_safe(bad), "{bad:?}");
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
    fn timestamps_outside_years_1_to_9999_in_utc_are_refused() {
        for version in [XapiVersion::V1_0, XapiVersion::V2_0] {
            for bad in [
                "0000-01-01T00:00:00Z",
                "0001-01-01T00:30:00+01:00",
                "9999-12-31T23:30:00-01:00",
                "+10000-01-01T00:00:00Z",
                "10000-01-01T00:00:00Z",
            ] {
                assert!(parse_timestamp(bad, version).is_none(), "{bad} {version:?}");
            }
            for ok in [
                "0001-01-01T00:00:00Z",
                "0001-01-01T00:30:00-01:00",
                "9999-12-31T23:59:59.999Z",
            ] {
                let t = parse_timestamp(ok, version).expect(ok);
                let stored = format_timestamp(t);
                assert_eq!(parse_timestamp(&stored, version), Some(t), "{stored}");
            }
        }
        assert!(parse_timestamp("00010101T003000+0100", XapiVersion::V1_0).is_none());
    }

    #[test]
    fn offsets_are_converted_to_utc_milliseconds() {
        let t = parse_timestamp("2013-05-18T05:32:34.8041+01:00", XapiVersion::V2_0).unwrap();
        assert_eq!(format_timestamp(t), "2013-05-18T04:32:34.804Z");
    }
}
