//! AWS Signature Version 4 for a request with its whole body in memory, as aws-sdk-go v1
//! (Alertmanager 0.25's SNS client) signs: the host, `Content-Length` (when the body is not
//! empty) and every other header given are signed; the path is escaped per segment; the
//! payload hash is the body's SHA-256. Pure: the time is an argument.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The credentials and scope of a signature.
#[derive(Debug, Clone)]
pub struct SigningKey<'a> {
    /// Access key id.
    pub access_key: &'a str,
    /// Secret access key.
    pub secret_key: &'a str,
    /// Region, e.g. `us-east-1`.
    pub region: &'a str,
    /// Service, e.g. `sns`.
    pub service: &'a str,
}

/// What a signed request must carry besides its own headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `X-Amz-Date`.
    pub amz_date: String,
    /// `Authorization`.
    pub authorization: String,
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Escapes a path as the signer does: unreserved characters and `/` stay, the rest is
/// percent-encoded.
fn escape_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char);
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The parts of a request that are signed.
#[derive(Debug, Clone)]
pub struct SignedRequest<'a> {
    /// `GET`, `POST`…
    pub method: &'a str,
    /// Host, with its port unless default.
    pub host: &'a str,
    /// Path.
    pub path: &'a str,
    /// Canonical query string (empty for none).
    pub query: &'a str,
    /// Headers to sign besides host, content length and date.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

/// Signs `request` at `now`.
pub fn sign(key: &SigningKey<'_>, request: &SignedRequest<'_>, now: DateTime<Utc>) -> Signature {
    let SignedRequest { method, host, path, query, headers, body } = *request;
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let day = &amz_date[..8];
    let content_length = body.len().to_string();
    let mut signed: Vec<(String, String)> = vec![("host".into(), host.to_owned())];
    if !body.is_empty() {
        signed.push(("content-length".into(), content_length));
    }
    for (name, value) in headers {
        signed.push((
            name.to_ascii_lowercase(),
            value.split_whitespace().collect::<Vec<_>>().join(" "),
        ));
    }
    signed.push(("x-amz-date".into(), amz_date.clone()));
    signed.sort();
    let names = signed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let path = if path.is_empty() { "/" } else { path };
    let canonical = format!(
        "{method}\n{}\n{query}\n{canonical_headers}\n{names}\n{}",
        escape_path(path),
        hex::encode(Sha256::digest(body))
    );
    let scope = format!("{day}/{}/{}/aws4_request", key.region, key.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut signing = hmac(format!("AWS4{}", key.secret_key).as_bytes(), day);
    for part in [key.region, key.service, "aws4_request"] {
        signing = hmac(&signing, part);
    }
    let signature = hex::encode(hmac(&signing, &to_sign));
    Signature {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}",
            key.access_key
        ),
        amz_date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published "get-vanilla" example of the SigV4 test suite.
    #[test]
    fn signs_the_aws_vanilla_example() {
        let key = SigningKey {
            access_key: "AKIDEXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "service",
        };
        let now = DateTime::parse_from_rfc3339("2015-08-30T12:36:00Z").unwrap().to_utc();
        let request = SignedRequest {
            method: "GET",
            host: "example.amazonaws.com",
            path: "/",
            query: "",
            headers: &[],
            body: b"",
        };
        let signature = sign(&key, &request, now);
        assert_eq!(
            signature.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }
}
