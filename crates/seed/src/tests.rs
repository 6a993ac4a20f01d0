use std::collections::HashSet;
use std::time::Instant;

use serde_json::Value;
use userbridge_model::time::is_canonical;

use super::*;

const CONN: &str = "Username-Password-Authentication";

fn conn() -> Arc<str> {
    Arc::from(CONN)
}

fn profile(u: &User) -> String {
    serde_json::to_string(&u.profile()).unwrap()
}

/// Every field, secrets included.
fn full(u: &User) -> String {
    format!("{u:?}")
}

fn sample(seed: u64, count: u64) -> Vec<User> {
    users(
        &SeedSpec {
            seed,
            count,
            start: 0,
        },
        CONN,
    )
    .collect()
}

#[test]
fn same_seed_gives_identical_users() {
    let a = sample(42, 2_000);
    let b = sample(42, 2_000);
    assert_eq!(a.len(), 2_000);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(profile(x), profile(y));
        assert_eq!(full(x), full(y));
    }
}

#[test]
fn different_seeds_give_different_users() {
    let a = sample(1, 1_000);
    let b = sample(2, 1_000);
    for (x, y) in a.iter().zip(&b) {
        assert_ne!(x.user_id, y.user_id);
        assert_ne!(profile(x), profile(y));
    }
}

#[test]
fn a_user_does_not_depend_on_the_batch() {
    let seed = 99;
    let c = conn();
    let all = sample(seed, 64);
    for i in [0u64, 1, 7, 31, 63] {
        let alone = user(seed, i, &c);
        let from_start = users(
            &SeedSpec {
                seed,
                count: 1,
                start: i,
            },
            CONN,
        )
        .next()
        .unwrap();
        assert_eq!(full(&alone), full(&all[i as usize]));
        assert_eq!(full(&alone), full(&from_start));
    }
    // Batches of any size concatenate to the whole sequence.
    let mut batched = Vec::new();
    let mut start = 0;
    for count in [5, 1, 20, 38] {
        batched.extend(users(&SeedSpec { seed, count, start }, CONN));
        start += count;
    }
    assert_eq!(batched.len(), all.len());
    for (x, y) in batched.iter().zip(&all) {
        assert_eq!(full(x), full(y));
    }
    // Far indices and overflowing ranges are fine.
    assert!(user(seed, u64::MAX, &c).user_id.starts_with("auth0|"));
    let tail = SeedSpec {
        seed,
        count: 10,
        start: u64::MAX - 2,
    };
    assert_eq!(users(&tail, CONN).count(), 2);
}

#[test]
fn ids_emails_and_usernames_are_unique_over_100k() {
    let mut ids = HashSet::new();
    let mut emails = HashSet::new();
    let mut usernames = HashSet::new();
    for u in users(
        &SeedSpec {
            seed: 5,
            count: 100_000,
            start: 0,
        },
        CONN,
    ) {
        assert!(ids.insert(u.user_id.clone()), "duplicate {}", u.user_id);
        let email = u.email.clone().unwrap();
        assert!(emails.insert(email.clone()), "duplicate {email}");
        if let Some(name) = u.username {
            assert!(usernames.insert(name.clone()), "duplicate {name}");
        }
    }
}

fn collect_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                collect_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_keys(v, out)),
        _ => {}
    }
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                collect_strings(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

use userbridge_model::user::FORBIDDEN_APP_METADATA_KEYS as FORBIDDEN_APP_KEYS;

fn is_e164(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn every_user_is_valid_for_the_schema() {
    let mut unordered_metadata = 0;
    for u in sample(11, 20_000) {
        // user_id
        let suffix = u.user_id.strip_prefix("auth0|").unwrap();
        assert_eq!(suffix.len(), 24, "{}", u.user_id);
        assert!(
            suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(&*u.connection, CONN);

        // email
        let email = u.email.as_deref().unwrap();
        assert_eq!(email, email.to_lowercase());
        assert_eq!(email.matches('@').count(), 1, "{email}");
        let (local, domain) = email.split_once('@').unwrap();
        assert!(!local.is_empty() && local.len() <= 64, "{email}");
        assert!(email.len() <= 254);
        assert!(domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'));
        assert!(!local.starts_with('.') && !local.ends_with('.') && !local.contains(".."));
        assert!(email.trim() == email);

        // username
        if let Some(name) = &u.username {
            assert!((1..=128).contains(&name.len()));
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b"@`^$!-#.+'~_".contains(&b)),
                "{name}"
            );
            assert!(!name[1..].contains('@'), "{name}");
        }

        // names
        let chars = |s: &Option<String>| s.as_ref().map(|s| s.chars().count());
        for part in [&u.given_name, &u.family_name, &u.name] {
            if let Some(n) = chars(part) {
                assert!((1..=150).contains(&n), "{part:?}");
            }
        }
        assert!(u.name.is_some() && u.picture.is_some());
        assert!((1..=350).contains(&chars(&u.nickname).unwrap()));
        assert!(u.picture.as_ref().unwrap().len() <= 2048);

        // phone
        if let Some(p) = &u.phone_number {
            assert!(is_e164(p), "{p}");
            assert!(u.phone_verified.is_some());
        } else {
            assert!(u.phone_verified.is_none());
        }

        // timestamps
        assert!(is_canonical(&u.created_at), "{}", u.created_at);
        assert!(is_canonical(&u.updated_at));
        assert!(u.created_at.as_str() >= "2019-01-01T00:00:00.000Z");
        assert!(u.created_at.as_str() <= "2025-12-31T23:59:59.999Z");
        assert!(u.updated_at >= u.created_at);
        for t in [
            &u.last_login,
            &u.last_password_reset,
            &u.multifactor_last_modified,
        ]
        .into_iter()
        .flatten()
        {
            assert!(is_canonical(t));
            assert!(t >= &u.created_at && t <= &u.updated_at);
        }
        assert_eq!(u.last_login.is_some(), u.logins_count.is_some());
        assert_eq!(u.last_login.is_some(), u.last_ip.is_some());
        assert_eq!(
            u.mfa_factors.is_some(),
            u.multifactor_last_modified.is_some()
        );

        // password
        if let Some(h) = &u.password_hash {
            assert_eq!(h.len(), 60);
            let rest = h.strip_prefix("$2b$10$").unwrap();
            assert!(rest.bytes().all(|b| BCRYPT_ALPHABET.contains(&b)));
            assert!(b".Oeu".contains(&rest.as_bytes()[21]), "{h}");
            assert!(b".CGKOSWaeimquy26".contains(&rest.as_bytes()[52]), "{h}");
        }
        assert!(u.custom_password_hash.is_none());

        // metadata
        for (which, raw) in [("user", &u.user_metadata), ("app", &u.app_metadata)] {
            let Some(raw) = raw else { continue };
            let value: Value = serde_json::from_str(raw.get()).unwrap();
            let map = value.as_object().unwrap();
            assert!(!map.is_empty());
            assert_eq!(serde_json::to_string(&value).unwrap(), raw.get());
            let mut keys = Vec::new();
            collect_keys(&value, &mut keys);
            assert!(keys.iter().all(|k| !k.contains('.')), "{}", raw.get());
            if which == "app" {
                for k in map.keys() {
                    assert!(!FORBIDDEN_APP_KEYS.contains(&k.as_str()), "{k}");
                }
            }
            let top: Vec<&String> = map.keys().collect();
            if top.windows(2).any(|w| w[0] > w[1]) {
                unordered_metadata += 1;
            }
        }

        // identities
        if let Some(raw) = &u.linked_identities {
            let items: Vec<Value> = serde_json::from_str(raw.get()).unwrap();
            assert!(!items.is_empty());
            for item in items {
                let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
                assert_eq!(keys, ["connection", "isSocial", "provider", "user_id"]);
                assert!(item["isSocial"].is_boolean());
                assert!(!item["user_id"].as_str().unwrap().is_empty());
            }
        }
        if let Some(raw) = &u.mfa_factors {
            let items: Vec<Value> = serde_json::from_str(raw.get()).unwrap();
            assert!((1..=10).contains(&items.len()));
            for item in &items {
                assert_eq!(item.as_object().unwrap().len(), 1);
            }
        }

        // the profile serialises, with the linked identities after the own one
        let p: Value = serde_json::from_str(&profile(&u)).unwrap();
        assert_eq!(p["identities"][0]["provider"], "auth0");
        assert!(!profile(&u).contains("$2b$"));
    }
    assert!(unordered_metadata > 1_000, "{unordered_metadata}");
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}')
}

fn is_rtl(c: char) -> bool {
    matches!(c, '\u{0590}'..='\u{05FF}' | '\u{0600}'..='\u{06FF}')
}

fn is_emoji(c: char) -> bool {
    matches!(c, '\u{1F300}'..='\u{1FAFF}')
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

#[test]
fn hostile_cases_all_appear_in_10k_users() {
    for seed in [0, 42] {
        let users = sample(seed, 10_000);
        let mut names: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut flags = [0usize; 8];
        for u in &users {
            for s in [&u.given_name, &u.family_name, &u.nickname, &u.name]
                .into_iter()
                .flatten()
            {
                names.push(s.clone());
            }
            for raw in [&u.user_metadata, &u.app_metadata].into_iter().flatten() {
                collect_strings(&serde_json::from_str(raw.get()).unwrap(), &mut texts);
            }
            flags[0] += usize::from(u.given_name.is_none());
            flags[1] += usize::from(u.linked_identities.is_some());
            flags[2] += usize::from(u.phone_number.is_some());
            flags[3] += usize::from(u.username.is_none());
            flags[4] += usize::from(u.password_hash.is_some());
            flags[5] += usize::from(u.blocked == Some(true));
            flags[6] += usize::from(u.blocked.is_none());
            flags[7] += usize::from(!u.email_verified);
        }
        let all: Vec<&String> = names.iter().chain(&texts).collect();
        let in_names = |f: &dyn Fn(&str) -> bool| names.iter().any(|s| f(s));
        let in_metadata = |f: &dyn Fn(&str) -> bool| texts.iter().any(|s| f(s));
        let anywhere = |f: &dyn Fn(&str) -> bool| all.iter().any(|s| f(s));

        for needle in ["\t", "\r", "\n", "\r\n", "\"", ",", ";"] {
            assert!(in_names(&|s| s.contains(needle)), "{needle:?} in names");
            assert!(
                in_metadata(&|s| s.contains(needle)),
                "{needle:?} in metadata"
            );
        }
        for lead in ['=', '+', '-', '@'] {
            assert!(in_names(&|s| s.starts_with(lead)), "leading {lead}");
        }
        assert!(in_names(&|s| s.chars().any(is_cjk)));
        assert!(in_names(&|s| s.chars().any(is_rtl)));
        assert!(in_names(&|s| s.chars().any(is_emoji)));
        assert!(in_names(&|s| s.contains('\u{200D}')), "ZWJ sequence");
        assert!(in_names(&|s| s.chars().any(is_combining)));
        assert!(in_names(&|s| s.contains('é') || s.contains('ë')));
        assert!(in_names(&|s| s == "Łukasz"
            || s == "Ærøskøbing"
            || s == "Zoë"));
        assert!(anywhere(&|s| s.chars().count() == 150));
        // Mixed-case copies of the (lower-case) email.
        assert!(in_metadata(&|s| s.contains('@') && s != s.to_lowercase()));
        assert!(users.iter().any(|u| {
            u.name
                .as_ref()
                .is_some_and(|n| n.contains('@') && n != &n.to_lowercase())
        }));

        let n = users.len();
        let pct = |count: usize| count * 100 / n;
        assert!(
            (8..=13).contains(&pct(flags[0])),
            "given_name None {}",
            flags[0]
        );
        assert!((3..=7).contains(&pct(flags[1])), "linked {}", flags[1]);
        assert!((27..=33).contains(&pct(flags[2])), "phone {}", flags[2]);
        assert!(
            (46..=54).contains(&pct(flags[3])),
            "no username {}",
            flags[3]
        );
        assert!((46..=54).contains(&pct(flags[4])), "password {}", flags[4]);
        assert!(flags[5] > 0 && flags[6] > 0 && flags[7] > 0);
        assert!(users.iter().any(|u| u.blocked == Some(false)));
        assert!(users.iter().any(|u| u.user_metadata.is_none()));
        assert!(users.iter().any(|u| u.app_metadata.is_none()));
        assert!(users.iter().any(|u| u.last_login.is_some()));
        assert!(users.iter().any(|u| u.mfa_factors.is_some()));
    }
}

#[test]
fn slugs_are_ascii_and_digit_free() {
    for culture in CULTURES {
        for (text, slug) in culture.given.iter().chain(culture.family) {
            assert!(!text.is_empty());
            assert!(
                slug.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'\'' || b == b'-'),
                "{slug}"
            );
            assert!(slug.as_bytes()[0].is_ascii_lowercase(), "{slug}");
            assert!(
                slug.as_bytes()[slug.len() - 1].is_ascii_lowercase(),
                "{slug}"
            );
        }
    }
    for tag in EMAIL_TAGS {
        assert!(tag.bytes().all(|b| b.is_ascii_lowercase()));
    }
    for value in HOSTILE {
        assert!((1..=150).contains(&value.chars().count()));
    }
}

/// `cargo test -p userbridge-seed --release -- --ignored --nocapture`
#[test]
#[ignore = "speed check, run in release"]
fn one_million_users_speed() {
    let start = Instant::now();
    let mut bytes = 0usize;
    for u in users(
        &SeedSpec {
            seed: 1,
            count: 1_000_000,
            start: 0,
        },
        CONN,
    ) {
        bytes += u.email.map_or(0, |e| e.len());
    }
    let elapsed = start.elapsed();
    println!("1,000,000 users in {elapsed:?} ({bytes} email bytes)");
    assert!(elapsed.as_secs_f64() < 10.0);
}
