//! Signed statements (xAPI Data 2.6): the JWS carried in a signature
//! attachment must be a compact JWS using RS256/RS384/RS512 whose payload is
//! the statement as sent (without its attachments).
//!
//! When the JWS header embeds the signer's X.509 certificate (`x5c`), the
//! signature is verified against it (Data 2.6.s5.b3.b3); without one the
//! LRS has no key, and trust is left to the consumer of the statement.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

const ALLOWED_ALGORITHMS: [&str; 3] = ["RS256", "RS384", "RS512"];

/// Checks a signature part against the statement it signs.
pub fn check(jws: &[u8], statement: &Map<String, Value>) -> Result<(), String> {
    let text = std::str::from_utf8(jws).map_err(|_| "the JWS is not UTF-8 text".to_owned())?;
    let mut segments = text.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(
            "the signature is not a JWS in compact serialization (header.payload.signature)".into(),
        );
    };
    let header: Value =
        decode_json(header).ok_or("the JWS header is not base64url-encoded JSON")?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ALLOWED_ALGORITHMS.contains(&alg) {
        return Err(format!(
            "the JWS algorithm must be RS256, RS384 or RS512, not {alg:?}"
        ));
    }
    let Ok(signature_bytes) = URL_SAFE_NO_PAD.decode(signature) else {
        return Err("the JWS signature segment is not base64url".into());
    };
    if signature_bytes.is_empty() {
        return Err("the JWS signature is empty".into());
    }
    if let Some(chain) = header.get("x5c") {
        let signing_input = text.trim().rsplit_once('.').map_or("", |(input, _)| input);
        verify_with_certificate(chain, alg, signing_input.as_bytes(), &signature_bytes)?;
    }
    let payload: Value =
        decode_json(payload).ok_or("the JWS payload is not a JSON serialization of a statement")?;
    let Value::Object(payload) = payload else {
        return Err("the JWS payload is not a statement object".into());
    };
    if comparable(&payload, statement.contains_key("id"))
        != comparable(statement, statement.contains_key("id"))
    {
        return Err("the JWS payload does not match the statement".into());
    }
    Ok(())
}

/// Verifies an RSASSA-PKCS1-v1_5 signature with the key of the first
/// certificate of an `x5c` chain.
fn verify_with_certificate(
    chain: &Value,
    alg: &str,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use base64::engine::general_purpose::STANDARD;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use x509_cert::der::{Decode, Encode};

    let first = chain
        .as_array()
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .ok_or("x5c must be an array of base64 certificates")?;
    let der = STANDARD
        .decode(first)
        .map_err(|_| "the x5c certificate is not base64")?;
    let cert = x509_cert::Certificate::from_der(&der)
        .map_err(|_| "the x5c certificate is not a DER X.509 certificate")?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|_| "the x5c certificate has no usable public key")?;
    let key = <rsa::RsaPublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_der(&spki)
        .map_err(|_| "the x5c certificate does not hold an RSA public key")?;
    let signature = Signature::try_from(signature).map_err(|_| "the JWS signature is malformed")?;
    let verified = match alg {
        "RS256" => VerifyingKey::<sha2::Sha256>::new(key).verify(signing_input, &signature),
        "RS384" => VerifyingKey::<sha2::Sha384>::new(key).verify(signing_input, &signature),
        _ => VerifyingKey::<sha2::Sha512>::new(key).verify(signing_input, &signature),
    };
    verified.map_err(|_| "the JWS signature does not verify against its x5c certificate".to_owned())
}

fn decode_json(segment: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The statement without what signing cannot cover: attachments (the
/// signature itself is one), and durations beyond hundredths of a second
/// (2.0: precision past 0.01 s is not compared).
fn comparable(stmt: &Map<String, Value>, keep_id: bool) -> Value {
    let mut s = stmt.clone();
    s.remove("attachments");
    if !keep_id {
        s.remove("id");
    }
    let mut v = Value::Object(s);
    truncate_durations(&mut v);
    v
}

fn truncate_durations(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                match child {
                    Value::String(d) if k == "duration" => *d = truncate_duration(d),
                    _ => truncate_durations(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(truncate_durations),
        _ => {}
    }
}

/// `PT0.1237S` -> `PT0.12S`.
pub fn truncate_duration(d: &str) -> String {
    let Some(body) = d.strip_suffix('S') else {
        return d.to_owned();
    };
    match body.rsplit_once('.') {
        Some((whole, frac)) if frac.bytes().all(|b| b.is_ascii_digit()) => {
            let frac = &frac[..frac.len().min(2)];
            format!("{whole}.{frac:0<2}S")
        }
        _ => d.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jws(header: Value, payload: &Value) -> String {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        format!(
            "{}.{}.{}",
            enc(&header),
            enc(payload),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    fn stmt() -> Map<String, Value> {
        json!({"id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0", "actor": {"mbox": "mailto:a@b.c"},
               "verb": {"id": "http://x.io/v"}, "object": {"id": "http://x.io/a"},
               "result": {"duration": "P1DT12H36M0.1237S"},
               "attachments": [{"usageType": "http://adlnet.gov/expapi/attachments/signature"}]})
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn a_matching_rs256_signature_is_accepted() {
        let mut payload = Value::Object(stmt());
        payload.as_object_mut().unwrap().remove("attachments");
        payload["result"]["duration"] = json!("P1DT12H36M0.12S");
        assert_eq!(
            check(jws(json!({"alg": "RS256"}), &payload).as_bytes(), &stmt()),
            Ok(())
        );
    }

    #[test]
    fn other_algorithms_and_mismatches_are_rejected() {
        let payload = Value::Object(stmt());
        assert!(check(jws(json!({"alg": "HS256"}), &payload).as_bytes(), &stmt()).is_err());
        let mut other = payload.clone();
        other["verb"]["id"] = json!("http://x.io/other");
        assert!(check(jws(json!({"alg": "RS512"}), &other).as_bytes(), &stmt()).is_err());
        assert!(check(b"not-a-jws", &stmt()).is_err());
    }

    #[test]
    fn durations_truncate_to_hundredths() {
        assert_eq!(truncate_duration("PT0.1237S"), "PT0.12S");
        assert_eq!(truncate_duration("PT1.5S"), "PT1.50S");
        assert_eq!(truncate_duration("PT1H"), "PT1H");
    }
}
