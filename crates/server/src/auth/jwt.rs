//! Access tokens: compact JWS signed RS256 (`management-api.md` §2.1), and their verification.
//!
//! Verification trusts nothing in a token before its signature is checked, and the header is
//! checked by name before any key is looked at: `alg` must be `RS256` (so `none`, `HS256` and
//! every other algorithm are refused outright, never tried), `kid` must name one of our keys,
//! and no other header member is accepted (`jku`, `jwk`, `x5u`, `crit`… would ask the
//! verifier to fetch or trust something else).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::keys::LoadedKey;

/// The one signature algorithm userbridge issues and accepts.
pub const ALGORITHM: &str = "RS256";

/// The `typ` of our tokens; a token may also leave it out.
const TYPE: &str = "JWT";

/// A longer bearer token is refused without decoding it (ours are about 800 bytes).
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Suffix of `sub` for a client-credentials token (`<client_id>@clients`, as Auth0 writes it).
const CLIENT_SUBJECT_SUFFIX: &str = "@clients";

/// The claims of a new token.
#[derive(Debug)]
pub struct NewToken<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub issued_at: i64,
    pub expires_at: i64,
}

/// A signed token (header, claims, signature; base64url, joined by dots).
pub fn encode(key: &LoadedKey, token: &NewToken<'_>) -> String {
    let header = json!({ "alg": ALGORITHM, "typ": TYPE, "kid": key.kid() });
    let claims = json!({
        "iss": token.issuer,
        "sub": format!("{}{CLIENT_SUBJECT_SUFFIX}", token.client_id),
        "aud": token.audience,
        "iat": token.issued_at,
        "exp": token.expires_at,
        "scope": token.scopes.join(" "),
        "gty": "client-credentials",
        "azp": token.client_id,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Why a bearer token is refused (always a 401; [`Refusal::message`] is the body's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not three base64url parts of JSON objects, or a claim of the wrong type.
    Malformed(&'static str),
    /// `alg` is not RS256 (`none`, `HS256`, …).
    Algorithm(String),
    /// A header member other than `alg`, `typ` and `kid`, or a `typ` other than `JWT`.
    Header(String),
    /// No key of ours (or one past its retention) has this kid.
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    BadIssuer(String),
    BadAudience(String),
    /// `sub` is not `<client_id>@clients`.
    Subject,
    /// The client the token was issued to no longer exists.
    UnknownClient,
}

impl Refusal {
    /// The 401 message: Auth0's wording where Auth0 has one (§2.3).
    pub fn message(&self) -> String {
        match self {
            Refusal::Expired => "Expired token received for JSON Web Token validation".into(),
            Refusal::BadAudience(aud) => format!("Bad audience: {aud}"),
            Refusal::BadIssuer(iss) => format!("Bad issuer: {iss}"),
            _ => "Invalid token".into(),
        }
    }
}

/// What the server requires of a token's claims.
#[derive(Debug)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// A token whose header passed the checks and whose signature is still to be verified.
#[derive(Debug)]
pub struct Unverified<'a> {
    kid: String,
    signing_input: &'a str,
    claims: &'a str,
    signature: Vec<u8>,
}

fn decode_part(part: &str) -> Result<Vec<u8>, Refusal> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Refusal::Malformed("a part is not base64url"))
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Refusal::Malformed("a part is not a JSON object")),
    }
}

/// Splits a token and checks its header; nothing else is trusted yet.
pub fn parse(token: &str) -> Result<Unverified<'_>, Refusal> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Refusal::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed("not three parts"));
    };
    let header = json_object(&decode_part(header)?)?;
    let mut kid = None;
    for (name, value) in &header {
        match (name.as_str(), value) {
            ("alg", Value::String(alg)) if alg == ALGORITHM => {}
            ("alg", other) => return Err(Refusal::Algorithm(other.to_string())),
            ("typ", Value::String(typ)) if typ == TYPE => {}
            ("kid", Value::String(id)) => kid = Some(id.clone()),
            (other, _) => return Err(Refusal::Header(other.to_string())),
        }
    }
    if !header.contains_key("alg") {
        return Err(Refusal::Algorithm("missing".into()));
    }
    let kid = kid.ok_or(Refusal::UnknownKey)?;
    let signing_input_len = token.len() - signature.len() - 1;
    Ok(Unverified {
        kid,
        signing_input: &token[..signing_input_len],
        claims,
        signature: decode_part(signature)?,
    })
}

impl Unverified<'_> {
    /// The key id the header names.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Checks the signature with `key` (the key of [`Unverified::kid`]), then the claims.
    pub fn verify(self, key: &LoadedKey, expected: &Expected<'_>) -> Result<Verified, Refusal> {
        if !key.verify(self.signing_input.as_bytes(), &self.signature) {
            return Err(Refusal::BadSignature);
        }
        let claims = json_object(&decode_part(self.claims)?)?;
        let seconds = |name: &str| -> Result<Option<i64>, Refusal> {
            match claims.get(name) {
                None => Ok(None),
                Some(value) => value
                    .as_i64()
                    .or_else(|| value.as_f64().map(|f| f.floor() as i64))
                    .map(Some)
                    .ok_or(Refusal::Malformed("a time claim is not a number")),
            }
        };
        let expires_at = seconds("exp")?.ok_or(Refusal::Malformed("no exp"))?;
        if expires_at <= expected.now {
            return Err(Refusal::Expired);
        }
        if seconds("nbf")?.is_some_and(|not_before| not_before > expected.now) {
            return Err(Refusal::NotYetValid);
        }
        match claims.get("iss") {
            Some(Value::String(iss)) if iss == expected.issuer => {}
            Some(Value::String(iss)) => return Err(Refusal::BadIssuer(iss.clone())),
            _ => return Err(Refusal::Malformed("no iss")),
        }
        match claims.get("aud") {
            Some(Value::String(aud)) if aud == expected.audience => {}
            Some(Value::Array(auds)) if auds.iter().any(|a| a == expected.audience) => {}
            Some(Value::String(aud)) => return Err(Refusal::BadAudience(aud.clone())),
            Some(Value::Array(auds)) => {
                let auds: Vec<&str> = auds.iter().filter_map(Value::as_str).collect();
                return Err(Refusal::BadAudience(auds.join(" ")));
            }
            _ => return Err(Refusal::Malformed("no aud")),
        }
        let client_id = match claims.get("sub").and_then(Value::as_str) {
            Some(sub) => sub
                .strip_suffix(CLIENT_SUBJECT_SUFFIX)
                .filter(|id| !id.is_empty())
                .ok_or(Refusal::Subject)?,
            None => return Err(Refusal::Subject),
        };
        let scopes = match claims.get("scope") {
            None => Vec::new(),
            Some(Value::String(scope)) => scope.split_whitespace().map(str::to_string).collect(),
            Some(_) => return Err(Refusal::Malformed("scope is not a string")),
        };
        Ok(Verified {
            client_id: client_id.to_string(),
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use userbridge_store::SqliteStore;

    use super::*;
    use crate::auth::keys::{self, KeyRing};

    const ISSUER: &str = "http://127.0.0.1:1/";
    const AUDIENCE: &str = "http://127.0.0.1:1/api/v2/";
    const NOW: i64 = 1_700_000_000;

    fn key() -> (tempfile::TempDir, Arc<LoadedKey>) {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        keys::rotate(&store, tmp.path()).unwrap();
        let key = KeyRing::new(tmp.path()).current(&store).unwrap();
        (tmp, key)
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISSUER,
            audience: AUDIENCE,
            now: NOW,
        }
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    /// A token with this header and these claims, signed by `key`.
    fn signed(key: &LoadedKey, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()));
        format!("{input}.{signature}")
    }

    fn claims() -> Value {
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "abc@clients", "exp": NOW + 60,
               "scope": "read:users create:users"})
    }

    fn check(key: &LoadedKey, token: &str) -> Result<Verified, Refusal> {
        let unverified = parse(token)?;
        assert_eq!(unverified.kid(), key.kid());
        unverified.verify(key, &expected())
    }

    #[test]
    fn a_token_verifies_with_its_key_and_claims() {
        let (_tmp, key) = key();
        let scopes = ["read:users".to_string()];
        let token = encode(
            &key,
            &NewToken {
                issuer: ISSUER,
                audience: AUDIENCE,
                client_id: "abc",
                scopes: &scopes,
                issued_at: NOW,
                expires_at: NOW + 1,
            },
        );
        assert_eq!(
            check(&key, &token),
            Ok(Verified {
                client_id: "abc".into(),
                scopes: scopes.to_vec(),
            })
        );
        // Any change to header or claims breaks the signature.
        let (input, signature) = token.rsplit_once('.').unwrap();
        let (_, claims) = input.split_once('.').unwrap();
        let mut raised: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        raised["scope"] = json!("read:users delete:users");
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()});
        let forged = format!("{}.{}.{signature}", b64(&header), b64(&raised));
        assert_eq!(check(&key, &forged), Err(Refusal::BadSignature));
    }

    #[test]
    fn headers_other_than_ours_are_refused_before_any_key() {
        let (_tmp, key) = key();
        let kid = key.kid();
        let refused = |header: Value| parse(&signed(&key, &header, &claims())).err();
        assert_eq!(
            refused(json!({"alg": "none", "kid": kid})),
            Some(Refusal::Algorithm("\"none\"".into()))
        );
        assert_eq!(
            refused(json!({"alg": "HS256", "typ": "JWT", "kid": kid})),
            Some(Refusal::Algorithm("\"HS256\"".into()))
        );
        assert_eq!(
            refused(json!({"typ": "JWT", "kid": kid})),
            Some(Refusal::Algorithm("missing".into()))
        );
        assert_eq!(
            refused(json!({"alg": "RS256", "kid": kid, "jku": "http://evil/"})),
            Some(Refusal::Header("jku".into()))
        );
        assert_eq!(
            refused(json!({"alg": "RS256", "typ": "at+jwt", "kid": kid})),
            Some(Refusal::Header("typ".into()))
        );
        assert_eq!(refused(json!({"alg": "RS256"})), Some(Refusal::UnknownKey));
        assert_eq!(refused(json!({"alg": "RS256", "kid": kid})), None);
        let bad_signature = format!("{}.e30.!!", b64(&json!({"alg": "RS256", "kid": kid})));
        for malformed in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.",
            "W10.e30.AA",
            &bad_signature,
        ] {
            assert!(
                matches!(parse(malformed), Err(Refusal::Malformed(_))),
                "{malformed}"
            );
        }
        assert!(matches!(
            parse(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn claims_are_checked_after_the_signature() {
        let (_tmp, key) = key();
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()});
        let with = |name: &str, value: Value| {
            let mut claims = claims();
            claims[name] = value;
            check(&key, &signed(&key, &header, &claims))
        };
        assert_eq!(with("exp", json!(NOW)), Err(Refusal::Expired));
        assert!(with("exp", json!(NOW + 1)).is_ok());
        assert!(matches!(
            with("exp", json!("soon")),
            Err(Refusal::Malformed(_))
        ));
        assert_eq!(with("nbf", json!(NOW + 5)), Err(Refusal::NotYetValid));
        assert_eq!(
            with("iss", json!("https://elsewhere/")),
            Err(Refusal::BadIssuer("https://elsewhere/".into()))
        );
        assert_eq!(
            with("aud", json!("https://elsewhere/api/v2/")),
            Err(Refusal::BadAudience("https://elsewhere/api/v2/".into()))
        );
        assert!(with("aud", json!(["x", AUDIENCE])).is_ok());
        assert_eq!(
            with("aud", json!(["x", "y"])),
            Err(Refusal::BadAudience("x y".into()))
        );
        assert_eq!(with("sub", json!("abc")), Err(Refusal::Subject));
        assert_eq!(with("sub", json!("@clients")), Err(Refusal::Subject));
        assert!(matches!(
            with("scope", json!(["read:users"])),
            Err(Refusal::Malformed(_))
        ));
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(matches!(
            check(&key, &signed(&key, &header, &no_exp)),
            Err(Refusal::Malformed(_))
        ));
    }
}
