#!/usr/bin/env python3
"""Generates vectors.json: password-hash test vectors made by implementations independent of
userbridge (Python's hashlib/hmac on OpenSSL, the `bcrypt` package, `argon2-cffi` on the
reference libargon2, `passlib` for LDAP values).

Each vector: {"description", "password", "credential", "wrong_password"} where `credential` is
{"password_hash": "<bcrypt>"} or {"custom_password_hash": {...}} (user-schema.md §4, §5).
tests/vectors.rs checks that userbridge parses every credential, verifies `password` and
rejects `wrong_password`.

How vectors.json was made (the output is deterministic: every salt is fixed):

    python3 -m venv /tmp/pwvenv
    /tmp/pwvenv/bin/pip install bcrypt argon2-cffi passlib
    /tmp/pwvenv/bin/python crates/passwords/tests/vectors/make_vectors.py

Used: Python 3.11, OpenSSL 3.0, bcrypt 5.0.0, argon2-cffi 25.1.0, passlib 1.7.4. MD4 and
Whirlpool live in OpenSSL 3's legacy provider: the script re-runs itself with an OPENSSL_CONF
that loads it. MDC-2 is in no provider of OpenSSL 3, so there is no vector for it.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
from pathlib import Path

LEGACY_CONF = """openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
"""

if os.environ.get("USERBRIDGE_VECTORS_LEGACY") != "1":
    conf = Path(tempfile.mkdtemp()) / "openssl-legacy.cnf"
    conf.write_text(LEGACY_CONF)
    env = dict(os.environ, OPENSSL_CONF=str(conf), USERBRIDGE_VECTORS_LEGACY="1")
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import argon2  # noqa: E402
import argon2.low_level as argon2_ll  # noqa: E402
import bcrypt  # noqa: E402
import passlib.hash as ph  # noqa: E402

OUT = Path(__file__).with_name("vectors.json")
vectors = []


def add(description, password, credential, wrong_password):
    assert password != wrong_password
    vectors.append(
        {
            "description": description,
            "password": password,
            "credential": credential,
            "wrong_password": wrong_password,
        }
    )


def custom(**fields):
    return {"custom_password_hash": fields}


def H(name, data):
    return hashlib.new(name, data).digest()


# --- value encodings (§5.2) -------------------------------------------------------------------

def b64_std(b):
    return base64.b64encode(b).decode()


def b64_url(b):
    return base64.urlsafe_b64encode(b).decode()


ENCODERS = {
    "hex lower": ("hex", lambda b: b.hex()),
    "hex upper": ("hex", lambda b: b.hex().upper()),
    "base64 standard padded": ("base64", b64_std),
    "base64 standard unpadded": ("base64", lambda b: b64_std(b).rstrip("=")),
    "base64 url-safe padded": ("base64", b64_url),
    "base64 url-safe unpadded": ("base64", lambda b: b64_url(b).rstrip("=")),
}


def encode(how, data):
    name, fn = ENCODERS[how]
    text = fn(data)
    if how.startswith("base64 url-safe"):
        assert "-" in text or "_" in text, "pick a password whose digest shows the url-safe alphabet"
    if how.startswith("base64 standard"):
        assert "+" in text or "/" in text, "pick a password whose digest shows the standard alphabet"
    if how.endswith(" padded"):
        assert text.endswith("=")
    return {"value": text, "encoding": name}


def password_showing(how, digest_fn, base="correct horse"):
    """A password whose digest's base64 shows the alphabet `how` is about (deterministic)."""
    for i in range(10_000):
        pw = f"{base} {i}"
        text = ENCODERS[how][1](digest_fn(pw.encode()))
        if how.startswith("base64 url-safe") and not ("-" in text or "_" in text):
            continue
        if how.startswith("base64 standard") and not ("+" in text or "/" in text):
            continue
        return pw
    raise AssertionError("no password found")


PASSWORD_CODECS = {
    "utf8": lambda s: s.encode("utf-8"),
    "ascii": lambda s: s.encode("ascii"),
    "latin1": lambda s: s.encode("latin-1"),
    "binary": lambda s: s.encode("latin-1"),
    "utf16le": lambda s: s.encode("utf-16-le"),
    "ucs2": lambda s: s.encode("utf-16-le"),
}

# --- §5.4: the spec's own examples ------------------------------------------------------------

spec_scrypt = custom(
    algorithm="scrypt",
    hash={"value": "6edb33ef1b83c6812af35cce9fbfd29b336ab02702c00a4978b3ae97197ea6e5", "encoding": "hex"},
    salt={"value": "s4lt", "encoding": "utf8"},
    keylen=32,
    cost=4096,
)
assert hashlib.scrypt(b"correct horse", salt=b"s4lt", n=4096, r=8, p=1, dklen=32).hex() == \
    spec_scrypt["custom_password_hash"]["hash"]["value"]
add("§5.4 example: scrypt (ola.nordmann)", "correct horse", spec_scrypt, "correct horse!")

spec_hmac = custom(
    algorithm="hmac",
    hash={
        "value": "qZTOrD58qwQtPN/IgddfTV0NAvM=",
        "encoding": "base64",
        "digest": "sha1",
        "key": {"value": "6b6579", "encoding": "hex"},
    },
)
assert b64_std(hmac.new(b"key", b"hunter2", "sha1").digest()) == "qZTOrD58qwQtPN/IgddfTV0NAvM="
add("§5.4 example: hmac-sha1 (kari.nordmann)", "hunter2", spec_hmac, "hunter3")

spec_sha256 = custom(
    algorithm="sha256",
    hash={"value": "9f2792e92746a08c7955dae87ecb8d62f2eac2e478b81891d347c303cc902ab0", "encoding": "hex"},
    salt={"value": "abc", "position": "prefix"},
)
assert hashlib.sha256(b"abchunter2").hexdigest() == spec_sha256["custom_password_hash"]["hash"]["value"]
add("§5.4 example: salted sha256 (per.hansen)", "hunter2", spec_sha256, "Hunter2")

# --- password_hash (§4): bcrypt ----------------------------------------------------------------

BCRYPT_SALT = b"abcdefghijklmnopqrstuu"  # 22 chars of the bcrypt alphabet (16 bytes)
for prefix, cost in [("2a", "04"), ("2b", "05"), ("2y", "04")]:
    pw = f"bcrypt {prefix} pässword"
    h = bcrypt.hashpw(pw.encode(), f"${prefix}${cost}$".encode() + BCRYPT_SALT).decode()
    assert bcrypt.checkpw(pw.encode(), h.encode())
    add(f"password_hash bcrypt ${prefix}$ cost {cost}", pw, {"password_hash": h}, pw + " ")

# bcrypt reads at most 72 bytes; bcrypt 5 refuses longer input, so the script hashes the first
# 72 bytes — what any bcrypt reads of the 80-byte password.
long_pw = "0123456789" * 8
h = bcrypt.hashpw(long_pw.encode()[:72], b"$2b$04$" + BCRYPT_SALT).decode()
add("password_hash bcrypt, password longer than 72 bytes (the rest is ignored)", long_pw,
    {"password_hash": h}, "x" + long_pw[1:])

# --- custom bcrypt -------------------------------------------------------------------------------

pw = "bcrypt custom"
h = bcrypt.hashpw(pw.encode(), b"$2b$04$" + BCRYPT_SALT).decode()
add("custom bcrypt, no salt, default encoding", pw, custom(algorithm="bcrypt", hash={"value": h}), "bcrypt Custom")
add("custom bcrypt, explicit utf8 encoding", pw, custom(algorithm="bcrypt", hash={"value": h, "encoding": "utf8"}),
    "bcrypt custom ")

for position, salt in [("prefix", b"NaCl-"), ("suffix", b"-NaCl")]:
    pw = f"bcrypt salted {position}"
    data = salt + pw.encode() if position == "prefix" else pw.encode() + salt
    h = bcrypt.hashpw(data, b"$2y$04$" + BCRYPT_SALT).decode()
    add(f"custom bcrypt, salt {position} (utf8)", pw,
        custom(algorithm="bcrypt", hash={"value": h}, salt={"value": salt.decode(), "position": position}),
        pw + "?")

# Salt and password together longer than 72 bytes: only the first 72 bytes count.
salt = bytes(range(0x41, 0x41 + 20))
pw = "p" * 60
h = bcrypt.hashpw((salt + pw.encode())[:72], b"$2b$04$" + BCRYPT_SALT).decode()
add("custom bcrypt, hex salt prefix + password > 72 bytes (truncated)", pw,
    custom(algorithm="bcrypt", hash={"value": h}, salt={"value": salt.hex(), "encoding": "hex", "position": "prefix"}),
    "q" + pw[1:])

pw = "Grüße"
h = bcrypt.hashpw(pw.encode("utf-16-le"), b"$2b$04$" + BCRYPT_SALT).decode()
add("custom bcrypt, password.encoding utf16le", pw,
    custom(algorithm="bcrypt", hash={"value": h}, password={"encoding": "utf16le"}), "Grüsse")

# --- md4, md5, sha1, sha256, sha512 ------------------------------------------------------------

PLAIN = ["md4", "md5", "sha1", "sha256", "sha512"]
# Every value encoding for every plain digest, without salt.
for algorithm in PLAIN:
    for how in ENCODERS:
        pw = password_showing(how, lambda b: H(algorithm, b))
        digest = H(algorithm, pw.encode())
        if how.endswith(" padded") and not b64_std(digest).endswith("="):
            continue
        add(f"{algorithm}, {how}", pw, custom(algorithm=algorithm, hash=encode(how, digest)), pw.upper())

# Salt prefix and suffix, salt encodings.
salts = [
    ("utf8 (default)", b"pepper&salt", {"value": "pepper&salt"}),
    ("utf8", b"s\xc3\xa4lt", {"value": "sält", "encoding": "utf8"}),
    ("hex", bytes.fromhex("00ff10ab"), {"value": "00FF10ab", "encoding": "hex"}),
    ("base64", bytes.fromhex("fbff00"), {"value": "+/8A", "encoding": "base64"}),
    ("base64 url-safe unpadded", bytes.fromhex("fbff0001"), {"value": "-_8AAQ", "encoding": "base64"}),
]
i = 0
for algorithm in PLAIN:
    for position in ["prefix", "suffix", None]:
        label, salt_bytes, salt_obj = salts[i % len(salts)]
        i += 1
        pw = f"{algorithm} salted {position or 'default-position'}"
        data = pw.encode() + salt_bytes if position == "suffix" else salt_bytes + pw.encode()
        salt_field = dict(salt_obj)
        if position:
            salt_field["position"] = position
        how = ["hex lower", "base64 standard padded", "hex upper"][i % 3]
        digest = H(algorithm, data)
        add(f"{algorithm}, salt {position or '(position omitted = prefix)'}, salt encoding {label}, {how}", pw,
            custom(algorithm=algorithm, hash=encode(how, digest) if how.startswith("hex") else
                   {"value": b64_std(digest), "encoding": "base64"}, salt=salt_field),
            pw + " ")

# Password encodings.
for algorithm, encoding, pw, wrong, note in [
    ("md5", "latin1", "pässwörd", "passwörd", ""),
    ("md5", "latin1", "naïve", "naïve€", ", wrong password not representable in latin1"),
    ("sha1", "binary", "café au lait", "cafe au lait", ""),
    ("sha256", "utf16le", "pässwörd€😀", "pässwörd€😁", ", astral plane (surrogate pair)"),
    ("sha512", "ucs2", "Ünïcödé", "Unicode", ""),
    ("md4", "utf16le", "NTLM-style", "ntlm-style", " (the NT hash)"),
    ("sha1", "ascii", "plain ascii", "plain äscii", ", wrong password not representable in ascii"),
    ("sha256", "utf8", "grüß gott", "gruss gott", ""),
]:
    digest = H(algorithm, PASSWORD_CODECS[encoding](pw))
    add(f"{algorithm}, password.encoding {encoding}{note}", pw,
        custom(algorithm=algorithm, hash={"value": digest.hex(), "encoding": "hex"}, password={"encoding": encoding}),
        wrong)

digest = hashlib.md5("pässwörd".encode("latin-1") + b"!salt").digest()
add("md5, password.encoding latin1 with salt suffix", "pässwörd",
    custom(algorithm="md5", hash={"value": b64_std(digest), "encoding": "base64"},
           salt={"value": "!salt", "position": "suffix"}, password={"encoding": "latin1"}),
    "passwörd")

# --- hmac ------------------------------------------------------------------------------------------

HMAC_DIGESTS = ["md4", "md5", "ripemd160", "sha1", "sha224", "sha256", "sha384", "sha512", "whirlpool"]
keys = [
    ({"value": "secret key"}, b"secret key"),
    ({"value": "an utf8 kéy", "encoding": "utf8"}, "an utf8 kéy".encode()),
    ({"value": "00112233445566778899AABBCCDDEEFF", "encoding": "hex"}, bytes.fromhex("00112233445566778899aabbccddeeff")),
    ({"value": "c2VjcmV0IGtleSE=", "encoding": "base64"}, b"secret key!"),
    ({"value": "-_-_", "encoding": "base64"}, bytes.fromhex("fbffbf")),
]
assert base64.urlsafe_b64decode("-_-_") == bytes.fromhex("fbffbf")
for n, digest_name in enumerate(HMAC_DIGESTS):
    key_obj, key = keys[n % len(keys)]
    how = list(ENCODERS)[n % len(ENCODERS)]
    pw = password_showing(how, lambda b: hmac.new(key, b, digest_name).digest(), base=f"hmac {digest_name}")
    mac = hmac.new(key, pw.encode(), digest_name).digest()
    if how.endswith(" padded") and not b64_std(mac).endswith("="):
        how = how.replace(" padded", " unpadded")
    add(f"hmac-{digest_name}, key {key_obj.get('encoding', 'utf8 (default)')}, {how}", pw,
        custom(algorithm="hmac", hash={**encode(how, mac), "digest": digest_name, "key": key_obj}),
        pw + "x")

for position in ["prefix", "suffix"]:
    pw = f"hmac salted {position}"
    salt = b"\x01\x02salt"
    msg = salt + pw.encode() if position == "prefix" else pw.encode() + salt
    mac = hmac.new(b"k", msg, "sha256").digest()
    add(f"hmac-sha256, salt {position} (hex) applied to the message", pw,
        custom(algorithm="hmac",
               hash={"value": mac.hex(), "encoding": "hex", "digest": "sha256", "key": {"value": "k"}},
               salt={"value": salt.hex(), "encoding": "hex", "position": position}),
        pw[:-1])

pw = "hmac ütf16"
mac = hmac.new(b"k", pw.encode("utf-16-le"), "sha512").digest()
add("hmac-sha512, password.encoding utf16le", pw,
    custom(algorithm="hmac", hash={"value": b64_std(mac), "encoding": "base64", "digest": "sha512", "key": {"value": "k"}},
           password={"encoding": "utf16le"}),
    "hmac utf16")

# --- ldap (RFC 2307) ---------------------------------------------------------------------------------

LDAP_SALT = b"\x8a\x01NaCl\xff\x00"


def ldap_value(scheme, digest_name, salted, pw):
    salt = LDAP_SALT if salted else b""
    return "{%s}%s" % (scheme, b64_std(H(digest_name, pw.encode() + salt) + salt))


ldap_cases = [
    # scheme, digest, salted, passlib handler (None: hashlib only)
    ("MD5", "md5", False, ph.ldap_md5),
    ("SMD5", "md5", True, ph.ldap_salted_md5),
    ("SHA", "sha1", False, ph.ldap_sha1),
    ("SSHA", "sha1", True, ph.ldap_salted_sha1),
    ("SHA256", "sha256", False, None),
    ("SSHA256", "sha256", True, ph.ldap_salted_sha256),
    ("SHA384", "sha384", False, None),
    ("SSHA384", "sha384", True, None),
    ("SHA512", "sha512", False, None),
    ("SSHA512", "sha512", True, ph.ldap_salted_sha512),
]
for scheme, digest_name, salted, handler in ldap_cases:
    pw = f"ldap {scheme.lower()} secret"
    value = ldap_value(scheme, digest_name, salted, pw)
    source = "hashlib"
    if handler is not None:
        # passlib's own value (its salt sizes: 4 bytes for SMD5/SSHA, 8 for SSHA256/512).
        salt_size = {"SMD5": 4, "SSHA": 4}.get(scheme, 8)
        value = handler.using(salt=LDAP_SALT[:salt_size]).hash(pw) if salted else handler.hash(pw)
        assert handler.verify(pw, value)
        source = "passlib"
    add(f"ldap {{{scheme}}} ({source})", pw, custom(algorithm="ldap", hash={"value": value}), pw + "!")

pw = "ldap mixed case"
value = ph.ldap_salted_sha1.using(salt=b"abcd").hash(pw)
add("ldap scheme case-insensitive: {sSha} (passlib)", pw,
    custom(algorithm="ldap", hash={"value": value.replace("{SSHA}", "{sSha}"), "encoding": "utf8"}), "ldap Mixed case")

pw = "ldap latin1 ü"
value = "{SSHA256}" + b64_std(hashlib.sha256(pw.encode("latin-1") + b"salty").digest() + b"salty")
add("ldap {SSHA256}, password.encoding latin1", pw,
    custom(algorithm="ldap", hash={"value": value}, password={"encoding": "latin1"}), "ldap latin1 u")

# --- pbkdf2 ----------------------------------------------------------------------------------------

def phc_b64(b):
    return b64_std(b).rstrip("=")


# Auth0's names that OpenSSL 3 no longer resolves as digests (they were digest aliases in
# OpenSSL 1.x, which Node used): mapped here to the digest they stand for.
OPENSSL_DIGEST = {
    "RSA-MD4": "md4", "md4WithRSAEncryption": "md4",
    "RSA-MD5": "md5", "md5WithRSAEncryption": "md5",
    "RSA-RIPEMD160": "ripemd160", "ripemd160WithRSA": "ripemd160",
    "RSA-SHA1": "sha1", "RSA-SHA1-2": "sha1", "sha1WithRSAEncryption": "sha1",
    "RSA-SHA224": "sha224", "sha224WithRSAEncryption": "sha224",
    "RSA-SHA256": "sha256", "sha256WithRSAEncryption": "sha256",
    "RSA-SHA384": "sha384", "sha384WithRSAEncryption": "sha384",
    "RSA-SHA512": "sha512", "sha512WithRSAEncryption": "sha512",
}
PBKDF2_NAMES = [
    "RSA-MD4", "RSA-MD5", "RSA-RIPEMD160", "RSA-SHA1", "RSA-SHA1-2", "RSA-SHA224", "RSA-SHA256", "RSA-SHA384",
    "RSA-SHA512", "md4", "md4WithRSAEncryption", "md5", "md5WithRSAEncryption", "ripemd", "ripemd160",
    "ripemd160WithRSA", "rmd160", "sha1", "sha1WithRSAEncryption", "sha224", "sha224WithRSAEncryption", "sha256",
    "sha256WithRSAEncryption", "sha384", "sha384WithRSAEncryption", "sha512", "sha512WithRSAEncryption",
    "ssl3-md5", "ssl3-sha1", "whirlpool",
]  # all 33 but the three MDC-2 names
for n, name in enumerate(PBKDF2_NAMES):
    pw = f"pbkdf2 {name}"
    salt = hashlib.sha256(name.encode()).digest()[: 8 + n % 9]
    iterations = 1000 + 7 * n
    keylen = [16, 20, 32, 64, 24][n % 5]
    dk = hashlib.pbkdf2_hmac(OPENSSL_DIGEST.get(name, name), pw.encode(), salt, iterations, keylen)
    params = f"i={iterations},l={keylen}" if n % 2 == 0 else f"l={keylen},i={iterations}"
    value = f"$pbkdf2-{name}${params}${phc_b64(salt)}${phc_b64(dk)}"
    add(f"pbkdf2 digest {name}", pw, custom(algorithm="pbkdf2", hash={"value": value}), pw + "1")

pw = "pbkdf2 defaults"
salt = b"default-salt"
dk = hashlib.pbkdf2_hmac("sha512", pw.encode(), salt, 100_000, 64)
add("pbkdf2 sha512 with i and l omitted (100000, 64)", pw,
    custom(algorithm="pbkdf2", hash={"value": f"$pbkdf2-sha512${phc_b64(salt)}${phc_b64(dk)}", "encoding": "utf8"}),
    "pbkdf2 default")
dk = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, 2000, 64)
add("pbkdf2 sha256 with l omitted (64)", pw,
    custom(algorithm="pbkdf2", hash={"value": f"$pbkdf2-sha256$i=2000${phc_b64(salt)}${phc_b64(dk)}"}),
    "pbkdf2 default")
pw = "pbkdf2 ütf16"
dk = hashlib.pbkdf2_hmac("sha1", pw.encode("utf-16-le"), b"salt", 1500, 20)
add("pbkdf2 sha1, password.encoding utf16le", pw,
    custom(algorithm="pbkdf2", hash={"value": f"$pbkdf2-sha1$i=1500,l=20${phc_b64(b'salt')}${phc_b64(dk)}"},
           password={"encoding": "utf16le"}),
    "pbkdf2 utf16")

# --- scrypt ----------------------------------------------------------------------------------------

scrypt_cases = [
    # description, password, salt bytes, salt object, n, r, p, keylen, hash encoding, include (cost, r, p)
    ("cost 1024, blockSize 4, parallelization 2, hex salt, base64 hash", "scrypt one",
     bytes.fromhex("deadbeef"), {"value": "DEADBEEF", "encoding": "hex"}, 1024, 4, 2, 25, "base64 standard padded",
     True),
    ("cost 16, blockSize 1, parallelization 3, base64 salt, hex hash", "scrypt two",
     b"\xfb\xff", {"value": "-_8", "encoding": "base64"}, 16, 1, 3, 64, "hex upper", True),
    ("cost 2, keylen 7, utf8 salt suffix position (ignored)", "scrypt three",
     b"saltsalt", {"value": "saltsalt", "position": "suffix"}, 2, 8, 1, 7, "base64 url-safe unpadded", True),
    ("defaults (cost 16384, blockSize 8, parallelization 1), no salt", "scrypt defaults",
     b"", None, 16384, 8, 1, 32, "hex lower", False),
]
for description, pw, salt, salt_obj, n, r, p, keylen, how, explicit in scrypt_cases:
    dk = hashlib.scrypt(pw.encode(), salt=salt, n=n, r=r, p=p, dklen=keylen, maxmem=64 * 1024 * 1024)
    if how.startswith("base64"):
        pw = password_showing(how, lambda b: hashlib.scrypt(b, salt=salt, n=n, r=r, p=p, dklen=keylen), base=pw)
        dk = hashlib.scrypt(pw.encode(), salt=salt, n=n, r=r, p=p, dklen=keylen)
    fields = {"algorithm": "scrypt", "hash": encode(how, dk), "keylen": keylen}
    if salt_obj is not None:
        fields["salt"] = salt_obj
    if explicit:
        fields.update(cost=n, blockSize=r, parallelization=p)
    add(f"scrypt, {description}", pw, {"custom_password_hash": fields}, pw + ".")

pw = "scrypt lätin1"
dk = hashlib.scrypt(pw.encode("latin-1"), salt=b"NaCl", n=64, r=2, p=1, dklen=16)
add("scrypt, password.encoding latin1", pw,
    custom(algorithm="scrypt", hash={"value": dk.hex(), "encoding": "hex"}, salt={"value": "NaCl"},
           keylen=16, cost=64, blockSize=2, password={"encoding": "latin1"}),
    "scrypt latin1")

# --- argon2 ----------------------------------------------------------------------------------------

ARGON2_TYPES = {"argon2i": argon2.Type.I, "argon2d": argon2.Type.D, "argon2id": argon2.Type.ID}
argon2_cases = [
    ("argon2i", 1, 64, 1, 32),
    ("argon2i", 3, 32, 2, 16),
    ("argon2d", 2, 64, 1, 32),
    ("argon2d", 1, 128, 4, 24),
    ("argon2id", 2, 256, 1, 32),
    ("argon2id", 1, 64, 8, 64),
]
for n, (variant, t, m, p, hash_len) in enumerate(argon2_cases):
    pw = f"{variant} t={t} m={m} p={p}"
    salt = hashlib.sha256(pw.encode()).digest()[: 8 + 4 * n]
    encoded = argon2_ll.hash_secret(pw.encode(), salt, time_cost=t, memory_cost=m, parallelism=p,
                                    hash_len=hash_len, type=ARGON2_TYPES[variant], version=19).decode()
    assert argon2_ll.verify_secret(encoded.encode(), pw.encode(), ARGON2_TYPES[variant])
    add(f"argon2 {variant} v=19 t={t} m={m} p={p}", pw, custom(algorithm="argon2", hash={"value": encoded}), pw + "~")

for variant in ["argon2i", "argon2id"]:
    pw = f"{variant} version 0x10"
    encoded = argon2_ll.hash_secret(pw.encode(), b"saltsaltsalt", time_cost=2, memory_cost=64, parallelism=1,
                                    hash_len=32, type=ARGON2_TYPES[variant], version=16).decode()
    assert "$v=16$" in encoded
    without_version = encoded.replace("$v=16$", "$")
    # libargon2 reads a string without v= as version 0x10.
    assert argon2_ll.verify_secret(without_version.encode(), pw.encode(), ARGON2_TYPES[variant])
    add(f"argon2 {variant} without v= (version 0x10, as libargon2 reads it)", pw,
        custom(algorithm="argon2", hash={"value": without_version, "encoding": "utf8"}), pw + "~")

pw = "argon2 ütf16"
encoded = argon2_ll.hash_secret(pw.encode("utf-16-le"), b"saltsalt", time_cost=1, memory_cost=32, parallelism=1,
                                hash_len=16, type=argon2.Type.ID, version=19).decode()
add("argon2id, password.encoding utf16le", pw,
    custom(algorithm="argon2", hash={"value": encoded}, password={"encoding": "utf16le"}), "argon2 utf16")

# --- write ----------------------------------------------------------------------------------------

descriptions = [v["description"] for v in vectors]
assert len(descriptions) == len(set(descriptions)), "descriptions must be unique"
OUT.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
print(f"wrote {len(vectors)} vectors to {OUT}")
