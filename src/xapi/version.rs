//! The xAPI version a request declares in `X-Experience-API-Version`.

use std::fmt;

/// The two families of the specification Trellis implements. A request's
/// header picks one, and the request is validated by that family's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XapiVersion {
    /// 1.0.0 ... 1.0.3 (and the bare "1.0").
    V1_0,
    /// 2.0.x (IEEE 9274.1.1).
    V2_0,
}

impl XapiVersion {
    /// Every version listed by the About resource.
    pub const SUPPORTED: [&'static str; 2] = ["1.0.3", "2.0.0"];

    /// Parses a header value: `1.0`, `1.0.x`, `2.0`, `2.0.x`.
    pub fn parse_header(value: &str) -> Option<XapiVersion> {
        if is_family(value, "1.0") {
            Some(XapiVersion::V1_0)
        } else if is_family(value, "2.0") {
            Some(XapiVersion::V2_0)
        } else {
            None
        }
    }

    /// The value answered in the response header.
    pub fn header_value(self) -> &'static str {
        match self {
            XapiVersion::V1_0 => "1.0.3",
            XapiVersion::V2_0 => "2.0.0",
        }
    }

    /// The `version` property a statement gets when it carries none.
    pub fn default_statement_version(self) -> &'static str {
        match self {
            XapiVersion::V1_0 => "1.0.0",
            XapiVersion::V2_0 => "2.0.0",
        }
    }

    /// Whether a statement's own `version` property is acceptable for a
    /// request of this version.
    pub fn accepts_statement_version(self, value: &str) -> bool {
        match self {
            XapiVersion::V1_0 => is_family(value, "1.0"),
            // A 2.0 LRS stores 1.0.x statements as well (they are still valid
            // 2.0 data); only other families are rejected.
            XapiVersion::V2_0 => is_family(value, "1.0") || is_family(value, "2.0"),
        }
    }

    pub fn is_2_0(self) -> bool {
        self == XapiVersion::V2_0
    }
}

impl fmt::Display for XapiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header_value())
    }
}

/// `family` itself, or `family` + "." + one or more digits.
fn is_family(value: &str, family: &str) -> bool {
    match value.strip_prefix(family) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_of_both_families_are_accepted() {
        for v in ["1.0", "1.0.0", "1.0.3", "1.0.9"] {
            assert_eq!(XapiVersion::parse_header(v), Some(XapiVersion::V1_0), "{v}");
        }
        for v in ["2.0", "2.0.0", "2.0.1"] {
            assert_eq!(XapiVersion::parse_header(v), Some(XapiVersion::V2_0), "{v}");
        }
    }

    #[test]
    fn other_header_values_are_rejected() {
        for v in [
            "", "0.95", "1.1.0", "1.0.", "1.0.x", "2.1", "3.0.0", "1.0.3 ", "1.00",
        ] {
            assert_eq!(XapiVersion::parse_header(v), None, "{v:?}");
        }
    }

    #[test]
    fn statement_versions_follow_the_request_family() {
        assert!(XapiVersion::V1_0.accepts_statement_version("1.0.3"));
        assert!(XapiVersion::V1_0.accepts_statement_version("1.0"));
        assert!(!XapiVersion::V1_0.accepts_statement_version("1.1.0"));
        assert!(!XapiVersion::V1_0.accepts_statement_version("2.0.0"));
        assert!(XapiVersion::V2_0.accepts_statement_version("2.0.0"));
        assert!(XapiVersion::V2_0.accepts_statement_version("1.0.3"));
        assert!(!XapiVersion::V2_0.accepts_statement_version("0.95"));
    }
}
