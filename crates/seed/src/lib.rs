//! Deterministic synthetic users, realistic and hostile.
//!
//! `userbridge users seed --count N [--seed S]` stores users made here. User
//! number `i` of the sequence for a seed depends only on `(seed, i)`: a
//! ChaCha8 generator keyed by the seed, on stream `i`. Seeding can therefore
//! be split into batches, resumed, or run in parallel, and always yields the
//! same users.
//!
//! The users are meant to break naive exporters: names in many scripts
//! (accents, CJK, Arabic and Hebrew, combining marks, emoji ZWJ sequences),
//! about 2 % of users with quotes, delimiters, tabs, CR/LF and spreadsheet
//! formula starters (`=`, `+`, `-`, `@`) in their names and metadata, E.164
//! phone numbers (`+12125550123`), optional fields left out, nested metadata
//! with every JSON type, and linked social identities. Every value is still
//! valid for the profile schema (`user-schema.md` §2–§3): emails are unique
//! and lower-case, usernames unique, metadata keys free of `.`, no forbidden
//! `app_metadata` key, timestamps canonical.
//!
//! ```
//! use userbridge_seed::{SeedSpec, users};
//!
//! let spec = SeedSpec { seed: 7, count: 3, start: 0 };
//! let batch: Vec<_> = users(&spec, "Username-Password-Authentication").collect();
//! assert_eq!(batch.len(), 3);
//! assert!(batch[0].user_id.starts_with("auth0|"));
//! assert_eq!(&*batch[0].connection, "Username-Password-Authentication");
//!
//! // User 2 is the same whether the batch starts at 0 or at 2.
//! let resumed = SeedSpec { seed: 7, count: 1, start: 2 };
//! let again = users(&resumed, "Username-Password-Authentication").next();
//! assert_eq!(again.map(|u| u.email), Some(batch[2].email.clone()));
//! ```

mod data;
mod json;

use std::fmt::Write as _;
use std::sync::Arc;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::value::RawValue;
use userbridge_model::User;
use userbridge_model::ids::USER_ID_PREFIX;
use userbridge_model::time::format_millis;

use data::{
    BASE32_ALPHABET, BCRYPT_ALPHABET, CITIES, CULTURE_WEIGHT, CULTURES, Culture, EMAIL_DOMAINS,
    EMAIL_TAGS, EMOJI, HOSTILE, IDN_DOMAINS, LANGUAGES, NOTES, Name, ORGS, PLANS, ROLES,
    SIGNUP_SOURCES, STREETS, TIMEZONES,
};
use json::Json;

/// Which users to make: numbers `start..start + count` of the sequence for `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeedSpec {
    pub seed: u64,
    pub count: u64,
    pub start: u64,
}

/// Users number `start..start+count` of the sequence for `seed`; user i is the
/// same whatever start/count (so seeding can be done in batches and resumed).
/// Each user's `connection` field is set to `connection_name`.
///
/// The iterator borrows nothing: it can outlive `spec` and `connection_name`
/// and be sent to another thread. The range stops at `u64::MAX` if
/// `start + count` would overflow.
pub fn users(spec: &SeedSpec, connection_name: &str) -> impl Iterator<Item = User> + use<> {
    let connection: Arc<str> = Arc::from(connection_name);
    let seed = spec.seed;
    let end = spec.start.saturating_add(spec.count);
    (spec.start..end).map(move |index| user(seed, index, &connection))
}

/// One user by its index (used by the iterator).
pub fn user(seed: u64, index: u64, connection: &Arc<str>) -> User {
    let mut rng = rng_for(seed, index);
    let rng = &mut rng;

    let culture = pick_culture(rng);
    let given: Name = pick(rng, culture.given);
    let family: Name = pick(rng, culture.family);
    let hostile = per_mille(rng, 20);

    // Users sign up one after another: creation times (and so the time-prefixed user ids)
    // grow with the index, as in a real directory, which keeps bulk seeding append-only.
    let created = FIRST_MS
        .saturating_add(
            i64::try_from(index)
                .unwrap_or(i64::MAX / SIGNUP_GAP_MS)
                .saturating_mul(SIGNUP_GAP_MS),
        )
        .saturating_add(rng.gen_range(0..SIGNUP_GAP_MS))
        .min(LATEST_SIGNUP_MS);
    let updated = if per_mille(rng, 350) {
        created
    } else {
        created + rng.gen_range(0..=(LAST_MS - created).clamp(0, MAX_UPDATE_DELAY_MS))
    };

    let email = email(rng, index, given.1, family.1);
    let local_part = email.split('@').next().unwrap_or(&email);

    let (has_given, has_family) = match rng.gen_range(0..100) {
        0..8 => (false, false),
        8..10 => (true, false),
        10..11 => (false, true),
        _ => (true, true),
    };
    let given_name = has_given.then(|| display(rng, hostile, given.0));
    let family_name = has_family.then(|| display(rng, hostile, family.0));
    let name = full_name(rng, culture, &given_name, &family_name, &email);
    let nickname = nickname(rng, hostile, given, local_part);
    let username = per_mille(rng, 500).then(|| username(rng, index, given.1, family.1));

    let phone_number = per_mille(rng, 300).then(|| phone(rng));
    let phone_verified = phone_number.as_ref().map(|_| per_mille(rng, 600));
    let email_verified = per_mille(rng, 700);
    let blocked = match rng.gen_range(0..100) {
        0..55 => None,
        55..95 => Some(false),
        _ => Some(true),
    };

    let (linked_identities, has_google) = if per_mille(rng, 50) {
        linked_identities(rng, &email)
    } else {
        (None, false)
    };
    let picture = picture(rng, index, has_google, given.1, family.1);

    let (last_login, last_ip, logins_count) = if per_mille(rng, 450) {
        let at = rng.gen_range(created..=updated);
        let count = if per_mille(rng, 50) {
            rng.gen_range(1_000..=250_000)
        } else {
            rng.gen_range(1..=60)
        };
        (Some(format_millis(at)), Some(ip(rng)), Some(count))
    } else {
        (None, None, None)
    };
    let last_password_reset =
        per_mille(rng, 80).then(|| format_millis(rng.gen_range(created..=updated)));

    let (mfa_factors, multifactor_last_modified) = if per_mille(rng, 30) {
        (
            mfa_factors(rng, &email, phone_number.as_deref()),
            Some(format_millis(rng.gen_range(created..=updated))),
        )
    } else {
        (None, None)
    };
    let password_hash = per_mille(rng, 500).then(|| bcrypt(rng));

    let user_metadata = user_metadata(rng, hostile, &email, created);
    let app_metadata = app_metadata(rng, hostile, &email, created);

    User {
        user_id: user_id(seed, index, created),
        connection: Arc::clone(connection),
        email: Some(email),
        email_verified,
        username,
        phone_number,
        phone_verified,
        given_name,
        family_name,
        name: Some(name),
        nickname: Some(nickname),
        picture: Some(picture),
        blocked,
        created_at: format_millis(created),
        updated_at: format_millis(updated),
        last_login,
        last_ip,
        logins_count,
        last_password_reset,
        multifactor_last_modified,
        user_metadata,
        app_metadata,
        linked_identities,
        password_hash,
        custom_password_hash: None,
        mfa_factors,
    }
}

/// 2019-01-01T00:00:00.000Z.
const FIRST_MS: i64 = 1_546_300_800_000;
/// 2025-12-31T23:59:59.999Z.
const LAST_MS: i64 = 1_767_225_599_999;
/// Time between two sign-ups: a million users span 2019 to 2025.
const SIGNUP_GAP_MS: i64 = 200_000;
/// 9999-12-31T23:59:59.999Z: indexes past billions of users stop here.
const LATEST_SIGNUP_MS: i64 = 253_402_300_799_999;
/// Two years.
const MAX_UPDATE_DELAY_MS: i64 = 2 * 365 * 24 * 3600 * 1000;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: a bijection on `u64`.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// ChaCha8 keyed by the seed (SplitMix64-expanded), stream = the user's index.
fn rng_for(seed: u64, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    let mut state = seed;
    for chunk in key.chunks_exact_mut(8) {
        state = state.wrapping_add(GOLDEN);
        chunk.copy_from_slice(&mix64(state).to_le_bytes());
    }
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(index);
    rng
}

/// True with probability `n`/1000.
fn per_mille(rng: &mut ChaCha8Rng, n: u32) -> bool {
    rng.gen_range(0..1000) < n
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

fn pick_culture(rng: &mut ChaCha8Rng) -> &'static Culture {
    let mut roll = rng.gen_range(0..CULTURE_WEIGHT);
    for culture in CULTURES {
        if roll < culture.weight {
            return culture;
        }
        roll -= culture.weight;
    }
    &CULTURES[0]
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the low `digits` hex digits of `value`, most significant first.
fn push_hex(out: &mut String, value: u64, digits: u32) {
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((value >> (4 * i)) & 0xF) as usize]));
    }
}

/// Appends `n` random characters of `alphabet` (ASCII). A power-of-two
/// alphabet takes its characters from the bits of one `u64` at a time.
fn push_random(out: &mut String, rng: &mut ChaCha8Rng, alphabet: &[u8], n: usize) {
    if !alphabet.len().is_power_of_two() {
        for _ in 0..n {
            out.push(char::from(pick(rng, alphabet)));
        }
        return;
    }
    let bits = alphabet.len().trailing_zeros();
    let mask = (alphabet.len() - 1) as u64;
    let (mut pool, mut left) = (0u64, 0u32);
    for _ in 0..n {
        if left < bits {
            pool = rng.next_u64();
            left = 64;
        }
        out.push(char::from(alphabet[(pool & mask) as usize]));
        pool >>= bits;
        left -= bits;
    }
}

fn random_hex(rng: &mut ChaCha8Rng, digits: u32) -> String {
    let mut out = String::with_capacity(digits as usize);
    let mut left = digits;
    while left > 0 {
        let take = left.min(16);
        push_hex(&mut out, rng.next_u64(), take);
        left -= take;
    }
    out
}

/// `auth0|` + 24 lower-case hex digits, shaped like a MongoDB ObjectId as
/// Auth0's are: 8 digits of creation time (seconds), then 16 digits that are
/// a bijection of the index for a given seed, hence unique.
fn user_id(seed: u64, index: u64, created_ms: i64) -> String {
    let seconds = u64::try_from(created_ms / 1000).unwrap_or(0);
    let unique = mix64(index ^ mix64(seed ^ 0x5EED_5EED_5EED_5EED));
    let mut id = String::with_capacity(USER_ID_PREFIX.len() + 24);
    id.push_str(USER_ID_PREFIX);
    push_hex(&mut id, seconds, 8);
    push_hex(&mut id, unique, 16);
    id
}

/// A lower-case email whose local part is digit-free slugs, then the index,
/// then maybe a digit-free `+tag`: the index is the first run of digits,
/// so emails are unique within a seed's sequence.
fn email(rng: &mut ChaCha8Rng, index: u64, given: &str, family: &str) -> String {
    let mut out = String::with_capacity(48);
    match rng.gen_range(0..100) {
        0..40 => {
            out.push_str(given);
            out.push('.');
            out.push_str(family);
        }
        40..55 => {
            out.push_str(given);
            out.push_str(family);
        }
        55..65 => {
            out.push_str(given);
            out.push('_');
            out.push_str(family);
        }
        65..80 => {
            out.extend(given.chars().next());
            out.push_str(family);
        }
        80..90 => {
            out.push_str(family);
            out.push('.');
            out.push_str(given);
        }
        _ => out.push_str(given),
    }
    let _ = write!(out, "{index}");
    if per_mille(rng, 80) {
        out.push('+');
        out.push_str(pick(rng, EMAIL_TAGS));
    }
    out.push('@');
    let domain = if per_mille(rng, 10) {
        pick(rng, IDN_DOMAINS)
    } else {
        pick(rng, EMAIL_DOMAINS)
    };
    out.push_str(domain);
    out
}

/// A mixed-case copy of a (lower-case) email, as people type it.
fn mixed_case_email(rng: &mut ChaCha8Rng, email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    match rng.gen_range(0..4) {
        0 => email.to_uppercase(),
        1 => format!("{local}@{}", domain.to_uppercase()),
        _ => {
            // Jane.Doe7@Example.COM
            let mut out = String::with_capacity(email.len() + 4);
            let mut capital = true;
            for c in local.chars() {
                if capital {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                capital = matches!(c, '.' | '_' | '-' | '+' | '\'');
            }
            out.push('@');
            let (head, tld) = domain.rsplit_once('.').unwrap_or(("", domain));
            let mut capital = true;
            for c in head.chars() {
                if capital {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                capital = c == '.';
            }
            if !head.is_empty() {
                out.push('.');
            }
            out.push_str(&tld.to_uppercase());
            out
        }
    }
}

/// A hostile value: delimiters, quotes, line breaks, formula starters…
/// occasionally at the 150-character limit of a name.
fn hostile_text(rng: &mut ChaCha8Rng) -> String {
    match rng.gen_range(0..100) {
        0..3 => "Ω".repeat(150),
        3..5 => "x".repeat(150),
        _ => (pick(rng, HOSTILE)).to_owned(),
    }
}

/// A name part: the culture's spelling, or for hostile users often a hostile value.
fn display(rng: &mut ChaCha8Rng, hostile: bool, normal: &str) -> String {
    if hostile && per_mille(rng, 600) {
        hostile_text(rng)
    } else {
        normal.to_owned()
    }
}

/// `name` is always set: the full name in the culture's order, else the
/// only part given, else the email (Auth0's default), sometimes as typed.
fn full_name(
    rng: &mut ChaCha8Rng,
    culture: &Culture,
    given: &Option<String>,
    family: &Option<String>,
    email: &str,
) -> String {
    let mut name = match (given, family) {
        (Some(g), Some(f)) => {
            let (first, second) = if culture.family_first { (f, g) } else { (g, f) };
            let mut name = String::with_capacity(first.len() + second.len() + 1);
            name.push_str(first);
            name.push_str(culture.separator);
            name.push_str(second);
            name
        }
        (Some(only), None) | (None, Some(only)) => only.clone(),
        (None, None) => {
            if per_mille(rng, 250) {
                mixed_case_email(rng, email)
            } else {
                email.to_owned()
            }
        }
    };
    if given.is_some() && per_mille(rng, 15) {
        name.push(' ');
        name.push_str(pick(rng, EMOJI));
    }
    if name.len() > 150 && name.chars().count() > 150 {
        name = name.chars().take(150).collect();
    }
    name
}

/// `nickname` is always set: usually the email's local part (Auth0's default).
fn nickname(rng: &mut ChaCha8Rng, hostile: bool, given: Name, local_part: &str) -> String {
    if hostile && per_mille(rng, 600) {
        return match rng.gen_range(0..100) {
            // The 350-character limit, in astral-plane characters.
            0..3 => "🦀".repeat(350),
            _ => hostile_text(rng),
        };
    }
    match rng.gen_range(0..100) {
        0..60 => local_part.to_owned(),
        60..75 => given.0.to_owned(),
        75..85 => given.1.to_owned(),
        85..93 => format!("{} {}", given.0, pick(rng, EMOJI)),
        _ => format!("{}{}", pick(rng, EMOJI), given.1),
    }
}

/// A lower-case username from the allowed charset (`user-schema.md` §3.2),
/// never an email address; the index is its first run of digits, so it is
/// unique.
fn username(rng: &mut ChaCha8Rng, index: u64, given: &str, family: &str) -> String {
    let mut out = String::with_capacity(32);
    let (prefix, middle, with_family) = match rng.gen_range(0..100) {
        0..30 => ("", "", true),
        30..50 => ("", "_", true),
        50..65 => ("", ".", true),
        65..75 => ("", "", false),
        75..82 => ("", "-", true),
        82..86 => ("the.real.", "", false),
        86..89 => ("", "~", false),
        89..91 => ("", "^", true),
        91..93 => ("", "$", false),
        93..94 => ("", "!", false),
        94..95 => ("", "#", true),
        95..96 => ("-", "", false),
        96..97 => ("+", "", false),
        97..98 => ("@", "", false),
        98..99 => ("", "`", true),
        _ => ("", "'", true),
    };
    out.push_str(prefix);
    out.push_str(given);
    if with_family {
        out.push_str(middle);
        out.push_str(family);
    } else {
        out.push_str(middle);
    }
    let _ = write!(out, "{index}");
    out
}

/// An E.164 number from fictional or drama ranges.
fn phone(rng: &mut ChaCha8Rng) -> String {
    match rng.gen_range(0..10) {
        // North America, 555-01xx.
        0..6 => format!(
            "+1{}555{:04}",
            rng.gen_range(201..=989),
            rng.gen_range(100..200)
        ),
        6 => format!("+447700900{:03}", rng.gen_range(0..1000)),
        7 => format!("+8190{:08}", rng.gen_range(0..100_000_000)),
        8 => format!("+336{:08}", rng.gen_range(0..100_000_000)),
        _ => format!("+4915{:09}", rng.gen_range(0..1_000_000_000)),
    }
}

/// Documentation-range IPv4 and IPv6 addresses.
fn ip(rng: &mut ChaCha8Rng) -> String {
    match rng.gen_range(0..10) {
        0..3 => format!("192.0.2.{}", rng.gen_range(1..255)),
        3..5 => format!("198.51.100.{}", rng.gen_range(1..255)),
        5..7 => format!("203.0.113.{}", rng.gen_range(1..255)),
        _ => format!(
            "2001:db8:{:x}::{:x}",
            rng.gen_range(0..0x10000),
            rng.gen_range(1..0x10000)
        ),
    }
}

fn picture(rng: &mut ChaCha8Rng, index: u64, google: bool, given: &str, family: &str) -> String {
    if google && per_mille(rng, 600) {
        return format!(
            "https://lh3.googleusercontent.com/a/ACg8oc{}=s96-c",
            random_hex(rng, 32)
        );
    }
    match rng.gen_range(0..100) {
        0..88 => {
            let mut initials = String::with_capacity(2);
            initials.extend(given.chars().next());
            initials.extend(family.chars().next());
            format!(
                "https://s.gravatar.com/avatar/{}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{initials}.png",
                random_hex(rng, 32)
            )
        }
        88..99 => format!(
            "https://images.example.com/avatars/{index}.png?size=96,96&v={}",
            rng.gen_range(1..10)
        ),
        _ => "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==".to_owned(),
    }
}

/// 1–2 linked identities (`[{"connection":…,"isSocial":…,"provider":…,"user_id":…}]`);
/// the flag says whether one of them is Google.
fn linked_identities(rng: &mut ChaCha8Rng, email: &str) -> (Option<Box<RawValue>>, bool) {
    let mut google = false;
    let mut j = Json::new();
    j.open_array();
    let count = if per_mille(rng, 150) { 2 } else { 1 };
    for _ in 0..count {
        let (connection, social, provider, id) = match rng.gen_range(0..100) {
            0..40 => {
                google = true;
                let id = format!("10{:019}", rng.gen_range(0..10_000_000_000_000_000_000u64));
                ("google-oauth2", true, "google-oauth2", id)
            }
            40..55 => {
                let id = rng.gen_range(100_000..100_000_000u64).to_string();
                ("github", true, "github", id)
            }
            55..70 => {
                let id = rng
                    .gen_range(100_000_000_000_000..100_000_000_000_000_000u64)
                    .to_string();
                ("facebook", true, "facebook", id)
            }
            70..80 => ("windowslive", true, "windowslive", random_hex(rng, 16)),
            80..90 => {
                let id = format!(
                    "00{:04}.{}.{:04}",
                    rng.gen_range(0..10_000),
                    random_hex(rng, 32),
                    rng.gen_range(0..10_000)
                );
                ("apple", true, "apple", id)
            }
            90..95 => ("acme-saml", false, "samlp", mixed_case_email(rng, email)),
            _ => ("legacy-users", false, "auth0", random_hex(rng, 24)),
        };
        j.open();
        j.field("connection", connection);
        j.key("isSocial");
        j.bool(social);
        j.field("provider", provider);
        j.field("user_id", &id);
        j.close();
    }
    j.close_array();
    (j.finish(), google)
}

/// 1–2 MFA factors of different kinds (`user-schema.md` §6.1).
fn mfa_factors(
    rng: &mut ChaCha8Rng,
    email: &str,
    phone_number: Option<&str>,
) -> Option<Box<RawValue>> {
    let mut j = Json::new();
    j.open_array();
    let first = rng.gen_range(0..3);
    let kinds = if per_mille(rng, 200) {
        [Some(first), Some((first + 1) % 3)]
    } else {
        [Some(first), None]
    };
    for kind in kinds.into_iter().flatten() {
        j.open();
        match kind {
            0 => {
                let mut secret = String::with_capacity(32);
                push_random(&mut secret, rng, BASE32_ALPHABET, 32);
                j.key("totp");
                j.open();
                j.field("secret", &secret);
                j.close();
            }
            1 => {
                let value = phone_number.map_or_else(|| phone(rng), str::to_owned);
                j.key("phone");
                j.open();
                j.field("value", &value);
                j.close();
            }
            _ => {
                j.key("email");
                j.open();
                j.field("value", email);
                j.close();
            }
        }
        j.close();
    }
    j.close_array();
    j.finish()
}

/// `$2b$10$` + 22-character salt + 31-character hash, with the final
/// characters restricted as a real bcrypt encoder leaves them.
fn bcrypt(rng: &mut ChaCha8Rng) -> String {
    let mut out = String::with_capacity(60);
    out.push_str("$2b$10$");
    push_random(&mut out, rng, BCRYPT_ALPHABET, 21);
    push_random(&mut out, rng, b".Oeu", 1);
    push_random(&mut out, rng, BCRYPT_ALPHABET, 30);
    push_random(&mut out, rng, b".CGKOSWaeimquy26", 1);
    out
}

/// Writes an array of 0–3 distinct strings from `items`.
fn string_array(rng: &mut ChaCha8Rng, j: &mut Json, items: &[&str]) {
    let first = rng.gen_range(0..items.len());
    j.open_array();
    for k in 0..rng.gen_range(0..=3usize.min(items.len())) {
        j.str(items[(first + k) % items.len()]);
    }
    j.close_array();
}

/// `user_metadata`: preferences, consent, address… keys deliberately not in
/// alphabetical order; `None` when nothing was chosen.
fn user_metadata(
    rng: &mut ChaCha8Rng,
    hostile: bool,
    email: &str,
    created: i64,
) -> Option<Box<RawValue>> {
    if !per_mille(rng, 650) {
        return None;
    }
    let mut j = Json::new();
    j.open();
    if per_mille(rng, 400) {
        j.field("theme", pick(rng, &["dark", "light", "system"]));
    }
    if per_mille(rng, 500) {
        j.field("language", pick(rng, LANGUAGES));
    }
    if per_mille(rng, 450) {
        j.key("preferences");
        j.open();
        j.field("timezone", pick(rng, TIMEZONES));
        j.key("newsletter");
        j.bool(per_mille(rng, 400));
        j.key("notifications");
        j.open();
        j.key("email");
        j.bool(per_mille(rng, 700));
        j.key("sms");
        j.bool(per_mille(rng, 200));
        j.key("push");
        if per_mille(rng, 300) {
            j.null();
        } else {
            j.bool(per_mille(rng, 500));
        }
        j.close();
        if per_mille(rng, 300) {
            j.key("font_scale");
            j.float(pick(rng, &[0.75, 1.0, 1.25, 1.5]));
        }
        j.close();
    }
    if per_mille(rng, 300) {
        j.key("consent");
        j.open();
        j.key("given");
        j.bool(per_mille(rng, 850));
        j.field(
            "at",
            &format_millis(created + rng.gen_range(0..30 * 24 * 3600 * 1000)),
        );
        j.key("version");
        j.int(rng.gen_range(1..=5));
        j.close();
    }
    if per_mille(rng, 250) {
        let (city, postal_code, country) = pick(rng, CITIES);
        j.key("address");
        j.open();
        j.field("street", pick(rng, STREETS));
        j.field("city", city);
        j.field("postal_code", postal_code);
        j.field("country", country);
        if per_mille(rng, 500) {
            j.key("geo");
            j.open_array();
            j.float(f64::from(rng.gen_range(-90_000_000..=90_000_000)) / 1e6);
            j.float(f64::from(rng.gen_range(-180_000_000..=180_000_000)) / 1e6);
            j.close_array();
        }
        j.close();
    }
    if per_mille(rng, 200) {
        j.field("contact_email", &mixed_case_email(rng, email));
    }
    if per_mille(rng, 200) {
        j.key("tags");
        string_array(
            rng,
            &mut j,
            &["beta", "early-adopter", "vip", "churn-risk", "日本", "عربي"],
        );
    }
    if per_mille(rng, 150) {
        j.key("score");
        j.float(f64::from(rng.gen_range(0..100_000)) / 100.0);
    }
    if per_mille(rng, 80) {
        j.field("favorite color", pick(rng, &["blue", "vert", "赤", "🟦"]));
    }
    if per_mille(rng, 50) {
        j.key("préférences");
        j.open();
        j.key("café");
        j.bool(per_mille(rng, 500));
        j.field("couleur", "bleu");
        j.close();
    }
    if per_mille(rng, 50) {
        j.key("lucky_numbers");
        j.open_array();
        j.int(7);
        j.int(-1);
        j.int(0);
        // Above 2^53: loses precision in JavaScript and spreadsheets.
        j.uint(9_007_199_254_740_993);
        j.uint(u64::MAX);
        j.float(1.5e300);
        j.float(-0.000_001);
        j.close_array();
    }
    if per_mille(rng, 40) {
        j.key("middle_name");
        j.null();
    }
    if hostile {
        j.field("notes", &hostile_text(rng));
        match rng.gen_range(0..5) {
            0 => j.field("quote\"key", "v"),
            1 => j.field("tab\tkey", "v"),
            2 => j.field("a[0]", "bracket"),
            3 => {
                j.field("UPPER", "1");
                j.field("upper", "2");
            }
            _ => j.field("emoji 🦀 key", "ключ"),
        }
    } else if per_mille(rng, 100) {
        j.field("notes", pick(rng, NOTES));
    }
    j.close();
    j.finish()
}

/// `app_metadata`: roles, plan, organisation… never a forbidden top-level
/// key (`user-schema.md` §6.2), though some appear deeper (`billing.email`).
fn app_metadata(
    rng: &mut ChaCha8Rng,
    hostile: bool,
    email: &str,
    created: i64,
) -> Option<Box<RawValue>> {
    if !per_mille(rng, 500) {
        return None;
    }
    let mut j = Json::new();
    j.open();
    if per_mille(rng, 600) {
        j.key("roles");
        string_array(rng, &mut j, ROLES);
    }
    if per_mille(rng, 500) {
        j.field("plan", pick(rng, PLANS));
    }
    if per_mille(rng, 250) {
        let mut id = String::with_capacity(18);
        id.push_str("cus_");
        push_random(&mut id, rng, &BCRYPT_ALPHABET[2..], 14);
        j.field("stripe_customer_id", &id);
    }
    if per_mille(rng, 250) {
        j.key("org");
        j.open();
        j.field("name", pick(rng, ORGS));
        j.field("id", &format!("org_{}", random_hex(rng, 16)));
        j.key("seats");
        j.int(rng.gen_range(1..=5000));
        j.close();
    }
    if per_mille(rng, 200) {
        j.key("legacy_id");
        j.int(rng.gen_range(1..=9_999_999));
    }
    if per_mille(rng, 250) {
        j.key("flags");
        j.open();
        j.key("beta");
        j.bool(per_mille(rng, 300));
        j.key("limit");
        j.int(pick(rng, &[10, 100, 1000, -1]));
        j.key("ratio");
        j.float(f64::from(rng.gen_range(0..=100)) / 100.0);
        j.key("expires");
        if per_mille(rng, 500) {
            j.null();
        } else {
            j.str(&format_millis(
                created + rng.gen_range(0..365 * 24 * 3600 * 1000),
            ));
        }
        j.close();
    }
    if per_mille(rng, 200) {
        j.key("signup");
        j.open();
        j.field("source", pick(rng, SIGNUP_SOURCES));
        j.key("campaign");
        j.null();
        j.field(
            "referrer",
            "https://example.com/landing?utm_source=a&utm_medium=b,c",
        );
        j.close();
    }
    if per_mille(rng, 150) {
        j.key("migrated");
        j.bool(per_mille(rng, 500));
    }
    if per_mille(rng, 100) {
        j.key("billing");
        j.open();
        j.field("email", &mixed_case_email(rng, email));
        j.key("vat_id");
        j.null();
        j.close();
    }
    if hostile {
        j.field("support_note", &hostile_text(rng));
    }
    j.close();
    j.finish()
}

#[cfg(test)]
mod tests;
