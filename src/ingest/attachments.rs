//! Attachments (xAPI Data 2.4.11, 2.6; Communication 1.5.2): the content
//! parts of a submission matched to the attachments its statements declare,
//! and the JWS of signed statements checked.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256, Sha384, Sha512};

use super::IngestError;
use crate::store::Attachment;
use crate::xapi::datatypes::media_type;
use crate::xapi::statement::SIGNATURE_USAGE;
use crate::xapi::{signature, JsonPath, Statement, ValidationError};

/// One content part of a submission as the transport delivered it (the
/// HTTP layer reads them from a multipart/mixed body). Its headers are kept
/// as sent: checking them is ingestion's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentPart {
    pub content_type: String,
    /// `X-Experience-API-Hash`: the SHA-2 of the content, in hex.
    pub hash: Option<String>,
    /// `Content-Transfer-Encoding`.
    pub transfer_encoding: Option<String>,
    pub data: Vec<u8>,
}

/// The hex SHA-2 digest of `data`, of the length of `like` (256/384/512).
pub fn sha2_hex(data: &[u8], like: &str) -> String {
    let digest: Vec<u8> = match like.len() {
        96 => Sha384::digest(data).to_vec(),
        128 => Sha512::digest(data).to_vec(),
        _ => Sha256::digest(data).to_vec(),
    };
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks every part, matches parts to declared attachments (one part per
/// hash, shared by every statement declaring it) and checks signatures.
/// Returns the content to store, with the content type the statements
/// declare.
pub(super) fn match_parts(
    statements: &[(Statement, JsonPath)],
    parts: Vec<AttachmentPart>,
) -> Result<Vec<Attachment>, IngestError> {
    let mut by_hash: HashMap<String, AttachmentPart> = HashMap::with_capacity(parts.len());
    for part in parts {
        let hash = part
            .hash
            .as_deref()
            .ok_or(IngestError::PartWithoutHash)?
            .to_ascii_lowercase();
        if !part
            .transfer_encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("binary"))
        {
            return Err(IngestError::PartNotBinary);
        }
        if sha2_hex(&part.data, &hash) != hash {
            return Err(IngestError::PartHashMismatch(hash));
        }
        by_hash.insert(hash, part);
    }
    let mut declared = HashSet::new();
    for (statement, path) in statements {
        for (i, a) in statement.attachments().iter().enumerate() {
            let a_path = path.key("attachments").index(i);
            declared.insert(a.sha2.clone());
            let part = by_hash.get(&a.sha2);
            if part.is_none() && !a.has_file_url {
                return Err(ValidationError::new(
                    a_path.key("sha2"),
                    "this attachment has no fileUrl and no multipart/mixed part carries its content",
                )
                .into());
            }
            if a.usage_type == SIGNATURE_USAGE {
                if media_type(&a.content_type) != "application/octet-stream" {
                    return Err(ValidationError::new(
                        a_path.key("contentType"),
                        "a signature attachment must have contentType application/octet-stream",
                    )
                    .into());
                }
                let part = part.ok_or_else(|| {
                    ValidationError::new(
                        a_path.clone(),
                        "the signature attachment has no content part",
                    )
                })?;
                signature::check(&part.data, statement.original())
                    .map_err(|message| ValidationError::new(a_path, message))?;
            }
        }
    }
    if let Some(extra) = by_hash.keys().find(|h| !declared.contains(*h)) {
        return Err(IngestError::UnmatchedPart(extra.clone()));
    }
    let mut content_types: HashMap<String, String> = HashMap::new();
    for (statement, _) in statements {
        for a in statement.attachments() {
            content_types.entry(a.sha2).or_insert(a.content_type);
        }
    }
    Ok(by_hash
        .into_iter()
        .map(|(sha2, part)| Attachment {
            content_type: content_types.remove(&sha2).unwrap_or(part.content_type),
            sha2,
            data: part.data,
        })
        .collect())
}
