//! `multipart/mixed` statement requests and responses (xAPI attachments).

use actix_web::web::Bytes;

use super::error::ApiError;
use crate::ingest::AttachmentPart;
use crate::store::Attachment;
use crate::xapi::datatypes::media_type;

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
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: {}\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {}\r\n\r\n",
                a.content_type, a.sha2
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
    async fn a_first_part_that_is_not_json_is_rejected() {
        let body = "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n";
        assert!(parse("multipart/mixed; boundary=b", Bytes::from(body))
            .await
            .is_err());
        assert!(parse("multipart/mixed", Bytes::from(body)).await.is_err());
    }
}
