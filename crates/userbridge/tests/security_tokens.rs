//! Access tokens under attack, against the real binary over loopback HTTP: forged, stale and
//! orphaned tokens, key rotation, the clients CLI, and a flood of wrong secrets. After every
//! refusal the server must go on answering a well-behaved client correctly.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Dir, Server};
use hmac::{Hmac, Mac};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Users seeded, so a correct answer can be recognised.
const USERS: u64 = 7;

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn part(token: &str, index: usize) -> Value {
    let text = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

fn header(token: &str) -> Value {
    part(token, 0)
}

fn claims(token: &str) -> Value {
    part(token, 1)
}

/// A JWS with this header and these claims, signed RS256 by `key`.
fn rs256(key: &RsaPrivateKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(input.as_bytes());
    format!("{input}.{}", b64(signature.to_vec()))
}

/// A JWS with this header and these claims, "signed" HS256 with `secret`.
fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// The server's private key of `kid`, read from its data directory as an attacker who stole
/// the file would (used to forge tokens the server must still refuse for their claims).
fn server_key(dir: &Dir, kid: &str) -> RsaPrivateKey {
    let pem = std::fs::read_to_string(dir.data().join("keys").join(format!("{kid}.pem"))).unwrap();
    RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

fn jwks(server: &Server) -> Value {
    let r = server
        .http
        .get(format!("{}/.well-known/jwks.json", server.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

fn jwks_kids(server: &Server) -> Vec<String> {
    let mut kids: Vec<String> = jwks(server)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    kids.sort();
    kids
}

/// The public key of `kid` as the JWKS publishes it.
fn published_key(server: &Server, kid: &str) -> RsaPublicKey {
    let keys = jwks(server);
    let jwk = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("{kid} not in {keys}"));
    assert_eq!(
        (&jwk["kty"], &jwk["alg"], &jwk["use"]),
        (&json!("RSA"), &json!("RS256"), &json!("sig"))
    );
    let number = |name: &str| {
        BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap())
    };
    RsaPublicKey::new(number("n"), number("e")).unwrap()
}

/// Verifies a token's signature with the JWKS alone, as any third party would.
fn verifies_with_jwks(server: &Server, token: &str) -> bool {
    let kid = header(token)["kid"].as_str().unwrap().to_string();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = Signature::try_from(URL_SAFE_NO_PAD.decode(signature).unwrap().as_slice());
    signature.is_ok_and(|s| {
        VerifyingKey::<Sha256>::new(published_key(server, &kid))
            .verify(input.as_bytes(), &s)
            .is_ok()
    })
}

fn users_with(server: &Server, authorization: Option<&str>) -> reqwest::blocking::Response {
    let mut request = server.http.get(format!(
        "{}/api/v2/users?per_page=2&include_totals=true",
        server.url
    ));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().unwrap()
}

/// The refusal Auth0 gives a bad token: 401, its body shape and the Bearer challenge.
fn assert_refused(server: &Server, authorization: Option<&str>, message: &str, what: &str) {
    let r = users_with(server, authorization);
    assert_eq!(r.status(), 401, "{what}");
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{what}: {challenge}"
    );
    let body: Value = r.json().unwrap();
    assert_eq!(
        body,
        json!({"statusCode": 401, "error": "Unauthorized", "message": message,
               "attributes": {"error": message}}),
        "{what}"
    );
}

/// A well-behaved client's request gets the right answer.
fn assert_served(server: &Server, token: &str) {
    let r = users_with(server, Some(&format!("Bearer {token}")));
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    assert_eq!(body["total"], USERS, "{body}");
    assert_eq!(body["users"].as_array().unwrap().len(), 2);
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn issued_tokens_are_rs256_jwts_with_the_documented_claims() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let client_id = server.credentials["client_id"].as_str().unwrap();
    let before = unix_now();
    let token = server.token(Some("read:users read:connections"));
    let header = header(&token);
    let kid = header["kid"].as_str().unwrap();
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": kid}));
    let claims = claims(&token);
    let iat = claims["iat"].as_i64().unwrap();
    assert!((before..=before + 5).contains(&iat), "{claims}");
    assert_eq!(
        claims,
        json!({
            "iss": format!("{}/", server.url),
            "sub": format!("{client_id}@clients"),
            "aud": format!("{}/api/v2/", server.url),
            "iat": iat,
            "exp": iat + 86_400,
            "scope": "read:users read:connections",
            "gty": "client-credentials",
            "azp": client_id,
        })
    );
    assert_eq!(jwks_kids(&server), [kid]);
    assert!(verifies_with_jwks(&server, &token));

    // The key files are the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let keys = dir.data().join("keys");
        assert_eq!(mode(&keys), 0o700);
        assert_eq!(mode(&keys.join(format!("{kid}.pem"))), 0o600);
    }
}

#[test]
fn forged_stale_and_orphaned_tokens_are_refused_and_good_clients_still_served() {
    let dir = Dir::new();
    dir.seed(USERS);
    let server = dir.serve(&[]);
    let good = server.token(None);
    let kid = header(&good)["kid"].as_str().unwrap().to_string();
    let ours = server_key(&dir, &kid);
    let real_header = header(&good);
    let real_claims = claims(&good);
    let with = |name: &str, value: Value| {
        let mut claims = real_claims.clone();
        claims[name] = value;
        claims
    };
    let bearer = |token: &str| format!("Bearer {token}");
    assert_served(&server, &good);

    // No token at all.
    assert_refused(&server, None, "Missing authentication", "no token");
    assert_served(&server, &good);

    // Signed by our own key (as if stolen), but its claims are wrong.
    let expired = rs256(&ours, &real_header, &with("exp", json!(unix_now() - 1)));
    assert_refused(
        &server,
        Some(&bearer(&expired)),
        "Expired token received for JSON Web Token validation",
        "expired",
    );
    let audience = "https://another-tenant.example/api/v2/";
    let wrong_audience = rs256(&ours, &real_header, &with("aud", json!(audience)));
    assert_refused(
        &server,
        Some(&bearer(&wrong_audience)),
        &format!("Bad audience: {audience}"),
        "wrong audience",
    );
    let issuer = "https://another-tenant.example/";
    let wrong_issuer = rs256(&ours, &real_header, &with("iss", json!(issuer)));
    assert_refused(
        &server,
        Some(&bearer(&wrong_issuer)),
        &format!("Bad issuer: {issuer}"),
        "wrong issuer",
    );
    assert_served(&server, &good);

    // Algorithm confusion: no signature, or HMAC keyed with what is public.
    let invalid = "Invalid token";
    for header in [
        json!({"alg": "none", "typ": "JWT", "kid": kid}),
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "None", "typ": "JWT", "kid": kid}),
    ] {
        let unsigned = format!(
            "{}.{}.",
            b64(header.to_string()),
            b64(real_claims.to_string())
        );
        assert_refused(&server, Some(&bearer(&unsigned)), invalid, "alg none");
        let with_old_signature = format!("{unsigned}{}", good.rsplit_once('.').unwrap().1);
        assert_refused(
            &server,
            Some(&bearer(&with_old_signature)),
            invalid,
            "alg none",
        );
    }
    let public = published_key(&server, &kid);
    let hs256_header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    for secret in [
        public
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
            .into_bytes(),
        public.to_public_key_der().unwrap().as_bytes().to_vec(),
        jwks(&server).to_string().into_bytes(),
    ] {
        let token = hs256(&secret, &hs256_header, &real_claims);
        assert_refused(
            &server,
            Some(&bearer(&token)),
            invalid,
            "HS256 with the public key",
        );
    }
    assert_served(&server, &good);

    // Signed by a key that is not ours: under our kid, under its own, or with no kid.
    let theirs = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    for header in [
        real_header.clone(),
        json!({"alg": "RS256", "typ": "JWT", "kid": "A".repeat(43)}),
        json!({"alg": "RS256", "typ": "JWT"}),
        json!({"alg": "RS256", "typ": "JWT", "kid": kid, "jwk": {"kty": "RSA"}}),
    ] {
        let token = rs256(&theirs, &header, &real_claims);
        assert_refused(
            &server,
            Some(&bearer(&token)),
            invalid,
            &format!("{header}"),
        );
    }
    // Our signature over other claims (a scope raised, a payload swapped).
    let (signing_input, signature) = good.rsplit_once('.').unwrap();
    let raised = format!(
        "{}.{}.{signature}",
        signing_input.split('.').next().unwrap(),
        b64(with("scope", json!("read:users delete:users")).to_string())
    );
    assert_refused(&server, Some(&bearer(&raised)), invalid, "tampered claims");
    let overlong = format!("{good}x");
    for garbage in ["not-a-token", "a.b.c", "e30.e30.e30", overlong.as_str()] {
        assert_refused(&server, Some(&bearer(garbage)), invalid, garbage);
    }
    // Not the Bearer scheme at all: Auth0's 400.
    for header in ["Basic abc", "Bearer", "Bearer ", good.as_str()] {
        let r = users_with(&server, Some(header));
        assert_eq!(r.status(), 400, "{header}");
        let body: Value = r.json().unwrap();
        assert_eq!(
            body,
            json!({"statusCode": 400, "error": "Bad Request",
                   "message": "Bad HTTP authentication header format"})
        );
    }
    assert_served(&server, &good);

    // A token of a client removed since: refused from the next request on.
    let created = dir.ok(&[
        "clients",
        "create",
        "--name",
        "short-lived",
        "--scopes",
        "read:users",
    ]);
    let created: Value = serde_json::from_str(&created).unwrap();
    let mut request = server.credentials.clone();
    request["client_id"] = created["client_id"].clone();
    request["client_secret"] = created["client_secret"].clone();
    let r = server.token_response(request.clone());
    assert_eq!(r.status(), 200);
    let orphan = r.json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(users_with(&server, Some(&bearer(&orphan))).status(), 200);
    dir.ok(&["clients", "rm", created["client_id"].as_str().unwrap()]);
    assert_refused(&server, Some(&bearer(&orphan)), invalid, "deleted client");
    let r = server.token_response(request);
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().unwrap(),
        json!({"error": "access_denied", "error_description": "Unauthorized"})
    );
    assert_served(&server, &good);
}

#[test]
fn rotated_keys_verify_their_tokens_until_they_expire() {
    let dir = Dir::new();
    dir.seed(USERS);
    const LIFETIME: u64 = 8;
    let server = dir.serve(&["--token-lifetime", &LIFETIME.to_string()]);
    let old = server.token(None);
    let old_kid = header(&old)["kid"].as_str().unwrap().to_string();

    // The CLI rotates on the data directory of the running server.
    let new_kid = dir.ok(&["keys", "rotate"]).trim().to_string();
    let rotated = Instant::now();
    assert_ne!(new_kid, old_kid);
    let listed = dir.ok(&["keys", "ls"]);
    let lines: Vec<Vec<&str>> = listed.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert_eq!(lines[0][0], old_kid);
    assert!(lines[0][2].starts_with("retired 20"), "{listed}");
    assert_eq!((lines[1][0], lines[1][2]), (new_kid.as_str(), "current"));

    // The next token is signed by the new key; both verify, both are published.
    let new = server.token(None);
    assert_eq!(header(&new)["kid"], new_kid);
    let mut both = vec![old_kid.clone(), new_kid.clone()];
    both.sort();
    assert_eq!(jwks_kids(&server), both);
    assert!(verifies_with_jwks(&server, &old));
    assert!(verifies_with_jwks(&server, &new));
    assert_served(&server, &old);
    assert_served(&server, &new);

    // One token lifetime after its retirement the old key is gone from the JWKS, and a token
    // it signed is refused even were it still unexpired.
    let retention_over = rotated + Duration::from_millis(LIFETIME * 1000 + 1200);
    std::thread::sleep(retention_over.saturating_duration_since(Instant::now()));
    assert_eq!(jwks_kids(&server), [new_kid.as_str()]);
    let ours = server_key(&dir, &old_kid);
    let mut claims = claims(&old);
    claims["exp"] = json!(unix_now() + 600);
    let late = rs256(&ours, &header(&old), &claims);
    assert_refused(
        &server,
        Some(&format!("Bearer {late}")),
        "Invalid token",
        "retired key past its retention",
    );
    assert_served(&server, &server.token(None));
}

/// A retired key that leaked is revoked: the tokens it signed are refused (here at once: the
/// next token issued after the rotation makes the server re-read its keys), the current key
/// cannot be revoked, a kid that names no key is an error, and the revocation is audited.
#[test]
fn a_revoked_key_signed_tokens_are_refused() {
    let dir = Dir::new();
    dir.seed(USERS);
    let server = dir.serve(&[]);
    let old = server.token(None);
    let old_kid = header(&old)["kid"].as_str().unwrap().to_string();

    let refused = dir.command(&["keys", "revoke", &old_kid]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("rotate first"), "{stderr}");
    assert_served(&server, &old);

    let new_kid = dir.ok(&["keys", "rotate"]).trim().to_string();
    dir.ok(&["keys", "revoke", &old_kid]);
    let new = server.token(None);
    assert_eq!(header(&new)["kid"], new_kid);
    assert_refused(
        &server,
        Some(&format!("Bearer {old}")),
        "Invalid token",
        "a token of a revoked key",
    );
    assert_served(&server, &new);
    assert_eq!(jwks_kids(&server), [new_kid.as_str()]);

    // Kids are base64url: one may start with '-', and is still a kid, not a flag.
    let dashed = format!("-{}", &old_kid[1..]);
    let unknown = dir.command(&["keys", "revoke", &dashed]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no signing key has the kid"), "{stderr}");
    let unknown = dir.command(&["keys", "revoke", &old_kid]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no signing key has the kid"), "{stderr}");
    let audit = dir.ok(&["audit", "ls"]);
    assert!(
        audit
            .lines()
            .any(|l| l.contains("signing_key.revoked") && l.contains(&old_kid)),
        "{audit}"
    );
}

fn token_request(server: &Server, client: &Value) -> reqwest::blocking::Response {
    let mut body = server.credentials.clone();
    body["client_id"] = client["client_id"].clone();
    body["client_secret"] = client["client_secret"].clone();
    server.token_response(body)
}

#[test]
fn clients_cli_creates_lists_rekeys_and_removes() {
    let dir = Dir::new();
    dir.seed(USERS);
    let server = dir.serve(&[]);

    let out = dir
        .command(&[
            "clients",
            "create",
            "--name",
            "reporting",
            "--scopes",
            "read:users, read:connections",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    let client_id = created["client_id"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert_eq!(created["name"], "reporting");
    assert_eq!(created["scopes"], json!(["read:users", "read:connections"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown only now"));

    // Listed without any secret; stored only as argon2id.
    let listed = dir.ok(&["clients", "ls"]);
    let line = listed
        .lines()
        .find(|l| l.starts_with(&client_id))
        .unwrap_or_else(|| panic!("{listed}"));
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 4, "{line}");
    assert_eq!(
        (fields[2], fields[3]),
        ("reporting", "read:users read:connections")
    );
    let management_secret = server.credentials["client_secret"].as_str().unwrap();
    assert!(!listed.contains(&secret) && !listed.contains(management_secret));
    let db = rusqlite::Connection::open(dir.data().join("userbridge.db")).unwrap();
    let stored: String = db
        .query_row(
            "SELECT secret_hash FROM clients WHERE client_id = ?1",
            [&client_id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );

    // Its token carries its scopes, and no more.
    let r = token_request(&server, &created);
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(claims(&token)["scope"], "read:users read:connections");
    assert_served(&server, &token);
    let (status, body) = server.post("/api/v2/users", &token, json!({}));
    assert_eq!(
        (status, &body["errorCode"]),
        (403, &json!("insufficient_scope"))
    );

    // A new secret: the old one stops working at once; issued tokens live on.
    let rotated: Value =
        serde_json::from_str(&dir.ok(&["clients", "rotate-secret", &client_id])).unwrap();
    assert_eq!(rotated["client_id"], client_id.as_str());
    assert_ne!(rotated["client_secret"], secret.as_str());
    assert_eq!(token_request(&server, &created).status(), 401);
    assert_eq!(token_request(&server, &rotated).status(), 200);
    assert_served(&server, &token);

    // Removed: its live tokens and its secret are refused.
    let out = dir.ok(&["clients", "rm", &client_id]);
    assert!(out.contains("removed"), "{out}");
    assert_refused(
        &server,
        Some(&format!("Bearer {token}")),
        "Invalid token",
        "removed client",
    );
    assert_eq!(token_request(&server, &rotated).status(), 401);
    assert!(!dir.ok(&["clients", "ls"]).contains(&client_id));

    // Each administration step is in the audit log (newest first), never with the secret.
    let audit = dir.ok(&["audit", "ls", "--limit", "100"]);
    let steps: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains(&client_id))
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(
        steps,
        ["client.removed", "client.secret_rotated", "client.created"],
        "{audit}"
    );
    for answer in [&created, &rotated] {
        let secret = answer["client_secret"].as_str().unwrap();
        assert!(!audit.contains(secret), "{audit}");
    }

    // Mistakes are one-line errors.
    for (args, message) in [
        (
            vec![
                "clients",
                "create",
                "--name",
                "x",
                "--scopes",
                "read:users delete:all",
            ],
            "unknown scope \"delete:all\"",
        ),
        (
            vec!["clients", "create", "--name", "x", "--scopes", ""],
            "at least one scope",
        ),
        (
            vec!["clients", "create", "--name", " ", "--scopes", "read:users"],
            "invalid client name",
        ),
        (
            vec!["clients", "rm", "nobody"],
            "no client has the id \"nobody\"",
        ),
        (
            vec!["clients", "rotate-secret", "nobody"],
            "no client has the id \"nobody\"",
        ),
    ] {
        let out = dir.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }

    // The management client's new secret lands in its credentials file.
    let management = server.credentials["client_id"].as_str().unwrap();
    let rotated: Value =
        serde_json::from_str(&dir.ok(&["clients", "rotate-secret", management])).unwrap();
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.data().join("management-client.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(file["client_secret"], rotated["client_secret"]);
    assert_eq!(server.token_response(file).status(), 200);
}

#[test]
fn a_secret_hashed_before_argon2id_works_once_and_is_rehashed() {
    let dir = Dir::new();
    dir.seed(USERS);
    let server = dir.serve(&[]);
    let client_id = server.credentials["client_id"].as_str().unwrap();
    let secret = server.credentials["client_secret"].as_str().unwrap();
    // As a data directory from before migration 0009 holds it: hex SHA-256.
    let db = rusqlite::Connection::open(dir.data().join("userbridge.db")).unwrap();
    let legacy = hex::encode(Sha256::digest(secret.as_bytes()));
    db.execute(
        "UPDATE clients SET secret_hash = ?2 WHERE client_id = ?1",
        [client_id, &legacy],
    )
    .unwrap();
    let mut wrong = server.credentials.clone();
    wrong["client_secret"] = json!("not-the-secret");
    assert_eq!(server.token_response(wrong).status(), 401);
    assert_served(&server, &server.token(None));
    let stored: String = db
        .query_row(
            "SELECT secret_hash FROM clients WHERE client_id = ?1",
            [client_id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert_served(&server, &server.token(None));
}

/// A client whose requests leave from another loopback address.
fn client_from(last_octet: u8) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, last_octet]))
        .build()
        .unwrap()
}

#[test]
fn ten_thousand_wrong_secrets_are_cheap_refusals_and_good_clients_carry_on() {
    const ATTEMPTS: usize = 10_000;
    const THREADS: usize = 4;
    let dir = Dir::new();
    dir.seed(USERS);
    let server = dir.serve(&[]);
    // The good client has obtained a token from its address before the attack starts.
    let good = server.token(None);
    let mut wrong = server.credentials.clone();
    wrong["client_secret"] = json!("guess");
    let url = format!("{}/oauth/token", server.url);
    let attacking = AtomicBool::new(true);

    let started = Instant::now();
    let (outcomes, served) = std::thread::scope(|scope| {
        let attackers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (url, wrong) = (&url, &wrong);
                scope.spawn(move || {
                    let http = client_from(2);
                    (0..ATTEMPTS / THREADS)
                        .map(|_| {
                            let r = http.post(url).json(wrong).send().unwrap();
                            let status = r.status().as_u16();
                            let retry_after = r
                                .headers()
                                .get("retry-after")
                                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
                            (status, retry_after, r.json::<Value>().unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let well_behaved = scope.spawn(|| {
            let mut rounds = 0;
            while attacking.load(Ordering::Relaxed) {
                assert_served(&server, &good);
                // Fresh tokens too, for the very client under attack.
                assert_served(&server, &server.token(Some("read:users")));
                rounds += 1;
            }
            rounds
        });
        let outcomes: Vec<_> = attackers
            .into_iter()
            .flat_map(|a| a.join().unwrap())
            .collect();
        attacking.store(false, Ordering::Relaxed);
        (outcomes, well_behaved.join().unwrap())
    });
    let elapsed = started.elapsed();
    eprintln!(
        "{ATTEMPTS} wrong secrets from {THREADS} threads in {elapsed:.2?}; \
         the good client was served {served} rounds meanwhile"
    );

    assert_eq!(outcomes.len(), ATTEMPTS);
    let denied = outcomes.iter().filter(|(s, _, _)| *s == 401).count();
    // The client's budget (10 failures a minute) bounds the argon2 work the flood causes.
    assert!((1..=10).contains(&denied), "{denied} reached argon2");
    for (status, retry_after, body) in &outcomes {
        match status {
            401 => assert_eq!(
                body,
                &json!({"error": "access_denied", "error_description": "Unauthorized"})
            ),
            429 => {
                let seconds = retry_after.expect("429 without Retry-After");
                assert!((1..=60).contains(&seconds), "{seconds}");
                assert_eq!(
                    body,
                    &json!({"error": "too_many_attempts", "error_description":
                            format!("Too many failed attempts; retry in {seconds} seconds")})
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(served >= 1, "the good client was never served");

    // While the client's budget is spent, an address that never obtained its token waits,
    // even with the right secret; the good client's address does not.
    let r = client_from(3)
        .post(&url)
        .json(&server.credentials)
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_served(&server, &server.token(None));

    // Guessing client ids from one address spends that address's budget (30 failures).
    let http = client_from(4);
    let statuses: Vec<u16> = (0..31)
        .map(|n| {
            let mut body = wrong.clone();
            body["client_id"] = json!(format!("unknown-client-{n}"));
            http.post(&url)
                .json(&body)
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    assert_eq!(statuses[..30], [401u16; 30]);
    assert_eq!(statuses[30], 429);
    assert_served(&server, &good);
}

/// Behind a trusted reverse proxy the failure budgets count the client the proxy names in
/// `X-Forwarded-For`, each on its own; from any other peer the header changes nothing.
#[test]
fn a_trusted_proxy_names_the_client_its_budget_counts() {
    let dir = Dir::new();
    let server = dir.serve(&[
        "--trusted-proxy",
        "127.0.0.2",
        "--token-failures-per-address",
        "2",
    ]);
    let url = format!("{}/oauth/token", server.url);
    let mut unknown = server.credentials.clone();
    unknown["client_id"] = json!("nobody");
    let attempt = |from: u8, forwarded: &str| -> u16 {
        client_from(from)
            .post(&url)
            .header("x-forwarded-for", forwarded)
            .json(&unknown)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    // Through the proxy: the named client spends its budget, another client has its own.
    let named: Vec<u16> = (0..3).map(|_| attempt(2, "203.0.113.5")).collect();
    assert_eq!(named, [401, 401, 429]);
    assert_eq!(attempt(2, "198.51.100.7, 203.0.113.6"), 401);
    // Not the proxy: whatever the header says, the peer's own budget counts.
    let direct: Vec<u16> = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
        .iter()
        .map(|forwarded| attempt(3, forwarded))
        .collect();
    assert_eq!(direct, [401, 401, 429]);

    // A proxy that is not an address is refused at start, naming the flag.
    let bad = dir
        .command(&["serve", "--trusted-proxy", "proxy.example"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--trusted-proxy"), "{stderr}");
}
