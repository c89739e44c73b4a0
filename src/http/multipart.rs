//! `multipart/mixed` statement requests and responses (xAPI attachments).

use actix_web::web::Bytes;

use super::error::ApiError;
use crate::ingest::AttachmentPart;
use crate::store::Attachment;
use crate::xapi::datatypes::{header_safe_media_type, is_header_safe, media_type};

/// A parsed multipart/mixed statement request.
#[derive(Debug)]
pub struct MultipartBody {
    pub statements: Bytes,
    /// Every part after the first, headers unchecked (ingestion checks
    /// them against the statements).
    pub parts: Vec<AttachmentPart>,
}

/// Parses a multipart/mixed body: the first part must be the statements as
/// `application/json`; every other part is an attachment.
pub async fn parse(content_type: &str, body: Bytes) -> Result<MultipartBody, ApiError> {
    let boundary = boundary(content_type).ok_or_else(|| {
        ApiError::bad_param(
            "Content-Type",
            "multipart/mixed requires a boundary parameter",
        )
    })?;
    let stream =
        futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut statements = None;
    let mut parts = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?
    {
        let header = |name: &str| {
            field
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        let content_type = header("content-type").unwrap_or_default();
        let hash = header("x-experience-api-hash");
        let transfer_encoding = header("content-transfer-encoding");
        let data = field
            .bytes()
            .await
            .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?;
        if statements.is_none() {
            if media_type(&content_type) != "application/json" {
                return Err(ApiError::bad_request("the first part of a multipart/mixed request must be the statements, as application/json"));
            }
            statements = Some(data);
        } else {
            parts.push(AttachmentPart {
                content_type,
                hash,
                transfer_encoding,
                data: data.to_vec(),
            });
        }
    }
    let statements = statements
        .ok_or_else(|| ApiError::bad_request("the multipart/mixed request has no parts"))?;
    Ok(MultipartBody { statements, parts })
}

/// The `boundary` parameter of a Content-Type value (multer's own parser
/// only accepts multipart/form-data).
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// Builds a multipart/mixed response: `json` first, then the attachments.
/// Returns the Content-Type value and the body.
pub fn build_response(json: &str, attachments: &[Attachment]) -> (String, Vec<u8>) {
    let boundary = format!("trellis{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::with_capacity(
        json.len()
            + attachments
                .iter()
                .map(|a| a.data.len() + 200)
                .sum::<usize>(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Type: application/json\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(json.as_bytes());
    body.extend_from_slice(b"\r\n");
    for a in attachments {
        // Part headers are written raw into the body: a value with CR/LF
        // would start new headers or a fake part. Content types are
        // checked at ingestion; this also covers older stored rows.
        let content_type = header_safe_media_type(&a.content_type);
        let sha2 = if is_header_safe(&a.sha2) {
            a.sha2.as_str()
        } else {
            ""
        };
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: {}\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {}\r\n\r\n",
                content_type, sha2
            )
            .as_bytes(),
        );
        body.extend_from_slice(&a.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/mixed; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::sha2_hex;

    #[tokio::test]
    async fn a_response_parses_back_as_a_request() {
        let a = Attachment {
            sha2: sha2_hex(b"hello", ""),
            content_type: "text/plain".into(),
            data: b"hello".to_vec(),
        };
        let (ct, body) = build_response("[{\"x\":1}]", std::slice::from_ref(&a));
        let parsed = parse(&ct, Bytes::from(body))
            .await
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(&parsed.statements[..], b"[{\"x\":1}]");
        assert_eq!(parsed.parts.len(), 1);
        assert_eq!(parsed.parts[0].hash.as_deref(), Some(a.sha2.as_str()));
        assert_eq!(&parsed.parts[0].data[..], b"hello");
        assert_eq!(parsed.parts[0].transfer_encoding.as_deref(), Some("binary"));
    }

    #[tokio::test]
    async fn a_stored_content_type_with_crlf_cannot_inject_part_headers() {
        let a = Attachment {
            sha2: sha2_hex(b"hello", ""),
            content_type: "text/plain\r\nX-Injected: 1\r\n\r\nfake body".into(),
            data: b"hello".to_vec(),
        };
        let (ct, body) = build_response("[]", std::slice::from_ref(&a));
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("X-Injected"), "{text}");
        assert!(!text.contains("fake body"), "{text}");
        let parsed = parse(&ct, Bytes::from(body))
            .await
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(parsed.parts.len(), 1);
        assert_eq!(parsed.parts[0].content_type, "application/octet-stream");
        assert_eq!(&parsed.parts[0].data[..], b"hello");
    }

    #[tokio::test]
    async fn a_first_part_that_is_not_json_is_rejected() {
        let body = "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n";
        assert!(parse("multipart/mixed; boundary=b", Bytes::from(body))
            .await
            .is_err());
        assert!(parse("multipart/mixed", Bytes::from(body)).await.is_err());
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        fn header_value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                Just("application/json".to_owned()),
                Just("application/octet-stream".to_owned()),
                "[ -~]{0,30}",
            ]
        }

        /// A multipart body built from arbitrary parts, cut or not.
        fn body() -> impl Strategy<Value = (String, Vec<u8>)> {
            (
                "[A-Za-z0-9'()+_,./:=?-]{0,20}",
                prop::collection::vec(
                    (header_value(), header_value(), prop::collection::vec(any::<u8>(), 0..40)),
                    0..4,
                ),
                any::<bool>(),
                any::<usize>(),
            )
                .prop_map(|(boundary, parts, close, cut)| {
                    let mut body = Vec::new();
                    for (content_type, hash, data) in parts {
                        body.extend_from_slice(
                            format!("--{boundary}\r\nContent-Type: {content_type}\r\nX-Experience-API-Hash: {hash}\r\n\r\n").as_bytes(),
                        );
                        body.extend_from_slice(&data);
                        body.extend_from_slice(b"\r\n");
                    }
                    if close {
                        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
                    } else {
                        body.truncate(cut % (body.len() + 1));
                    }
                    (format!("multipart/mixed; boundary=\"{boundary}\""), body)
                })
        }

        fn runtime() -> tokio::runtime::Runtime {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a test runtime")
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn any_multipart_body_never_panics((content_type, body) in body()) {
                let _ = runtime().block_on(parse(&content_type, Bytes::from(body)));
            }

            #[test]
            fn any_bytes_and_content_type_never_panic(content_type in header_value(), body in prop::collection::vec(any::<u8>(), 0..300)) {
                let _ = runtime().block_on(parse(&content_type, Bytes::from(body)));
            }

            #[test]
            fn any_stored_attachment_builds_a_response_that_parses_back(
                content_type in header_value(),
                data in prop::collection::vec(any::<u8>(), 0..100),
            ) {
                let a = Attachment { sha2: sha2_hex(&data, ""), content_type, data };
                let (ct, body) = build_response("[]", std::slice::from_ref(&a));
                let parsed = runtime().block_on(parse(&ct, Bytes::from(body)));
                let parsed = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(parsed.parts.len(), 1);
                prop_assert_eq!(&parsed.parts[0].data, &a.data);
                prop_assert!(is_header_safe(&parsed.parts[0].content_type));
            }
        }
    }
}
