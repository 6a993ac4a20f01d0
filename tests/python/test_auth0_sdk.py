"""userbridge driven by Auth0's own Python SDK (auth0-python 6.8.0).

Spec: /work/shared/spec/management-api.md §2 (tokens), §4 (users), §6 (connections), §7.1/§7.3
(export jobs), §8–9 (export file, download link), §11 (compatibility checklist).

Everything goes through the SDK unless the SDK cannot do it; each such place says why.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import re
import struct
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management.client import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.core.parse_error import ParsingError

from conftest import SEED_COUNT, ResponseRecorder, Server, make_management_client, run_cli, start_server

UPA = "Username-Password-Authentication"
ALL_SCOPES = {
    "read:users",
    "create:users",
    "update:users",
    "delete:users",
    "update:users_app_metadata",
    "read:connections",
    "create:passwords_checking_job",
    # The campaign data manager's scopes (issue 4); the management client holds them too.
    "campaign:read",
    "campaign:write",
    # Reading the audit log (issue 6; Auth0's name for reading logs).
    "read:logs",
}
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
USER_TIMESTAMP_KEYS = (
    "created_at",
    "updated_at",
    "last_login",
    "last_password_reset",
    "multifactor_last_modified",
)
CON_ID_RE = re.compile(r"^con_[A-Za-z0-9]{16}$")
JOB_ID_RE = re.compile(r"^job_[A-Za-z0-9]{16}$")
JOB_DEADLINE_S = 30.0

CSV_FIELDS = [
    {"name": "email", "export_as": "Email Address"},
    {"name": "created_at", "export_as": "Created At"},
    {"name": "given_name", "export_as": "First Name"},
    {"name": "family_name", "export_as": "Last Name"},
]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def assert_timestamps(obj: Dict[str, Any], keys: Iterable[str] = USER_TIMESTAMP_KEYS) -> None:
    for key in keys:
        if key in obj:
            assert isinstance(obj[key], str) and TIMESTAMP_RE.match(obj[key]), (
                f"{key}={obj[key]!r} of {obj.get('user_id') or obj.get('id')} is not ISO 8601 ms Z"
            )


def all_users_via_sdk(mgmt: Auth0, recorder: ResponseRecorder) -> Tuple[List[Dict[str, Any]], int]:
    """Page through GET /api/v2/users (include_totals=true) with the SDK; returns the raw JSON users."""
    users: List[Dict[str, Any]] = []
    page = 0
    total: Optional[int] = None
    while True:
        pager = mgmt.users.list(page=page, per_page=100, include_totals=True)
        raw = recorder.last_json()
        assert set(raw) >= {"start", "limit", "length", "users", "total"}, raw.keys()
        assert raw["start"] == page * 100
        assert raw["limit"] == 100
        assert raw["length"] == len(raw["users"]) == len(pager.items or [])
        if total is None:
            total = raw["total"]
        assert raw["total"] == total, "total changed while paging"
        users.extend(raw["users"])
        if raw["length"] == 0 or len(users) >= total:
            break
        page += 1
        assert page < 1000, "runaway paging"
    assert total is not None
    return users, total


def create_export(mgmt: Auth0, **kwargs: Any):
    job = mgmt.jobs.users_exports.create(**kwargs)
    assert JOB_ID_RE.match(job.id), job.id
    assert job.type == "users_export"
    assert job.status in ("pending", "processing", "completed")
    return job


def wait_for_job(mgmt: Auth0, recorder: ResponseRecorder, job_id: str) -> Dict[str, Any]:
    """Poll jobs.get until the job completes; bounded by JOB_DEADLINE_S. Returns the raw JSON."""
    deadline = time.monotonic() + JOB_DEADLINE_S
    statuses = []
    while True:
        job = mgmt.jobs.get(job_id)
        raw = recorder.last_json()
        statuses.append(job.status)
        assert job.id == job_id
        assert_timestamps(raw, ("created_at",))
        if job.status == "completed":
            return raw
        assert job.status in ("pending", "processing"), f"job {job_id} went {job.status}: {raw}"
        if job.status == "processing":
            assert 0 <= raw["percentage_done"] <= 100
            assert raw["time_left_seconds"] >= 0
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} not completed after {JOB_DEADLINE_S}s; statuses seen: {statuses}")
        time.sleep(0.05)


def download(http: httpx.Client, location: str) -> bytes:
    """Fetch an export file. The SDK has no download call: the location is a plain signed URL."""
    resp = http.get(location)
    assert resp.status_code == 200, (location, resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/gzip"), resp.headers
    assert "content-encoding" not in resp.headers, resp.headers
    return resp.content


def gzip_original_name(blob: bytes) -> Optional[str]:
    """The FNAME field of a gzip header (RFC 1952 §2.3.1), or None."""
    assert blob[:2] == b"\x1f\x8b", "not gzip"
    flags = blob[3]
    pos = 10
    if flags & 0x04:  # FEXTRA
        (xlen,) = struct.unpack("<H", blob[pos : pos + 2])
        pos += 2 + xlen
    if flags & 0x08:  # FNAME
        end = blob.index(b"\x00", pos)
        return blob[pos:end].decode("latin-1")
    return None


PLAIN_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def smart_cell(value: Any) -> str:
    """Expected CSV cell text for a string value under the default `smart` formula escaping
    (export-formats.md §3.3): missing → empty; `'` prefix for = + - @ TAB CR NUL unless a plain number."""
    if value is None:
        return ""
    assert isinstance(value, str)
    if value and value[0] in "=+-@\t\r\0" and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value




def scoped_token(get_token_client: GetToken, server: Server, audience: str, scope: str) -> Dict[str, Any]:
    # GetToken.client_credentials() has no `scope` argument in 6.8.0, so we use the same SDK
    # object's authenticated_post (which adds client_secret exactly as client_credentials does).
    return get_token_client.authenticated_post(
        f"http://{server.host}/oauth/token",
        data={
            "client_id": get_token_client.client_id,
            "audience": audience,
            "grant_type": "client_credentials",
            "scope": scope,
        },
    )


# --------------------------------------------------------------------------------------------
# §2 tokens
# --------------------------------------------------------------------------------------------


def test_token_via_sdk_client_credentials_json(token_response, creds, server):
    # GetToken.client_credentials posts a JSON body (it also sends "organization": null).
    assert set(token_response) >= {"access_token", "scope", "expires_in", "token_type"}
    assert token_response["token_type"] == "Bearer"
    assert token_response["expires_in"] == 86400
    assert set(token_response["scope"].split(" ")) == ALL_SCOPES
    assert token_response["access_token"]


def test_token_form_encoded_body(get_token_client, creds, server, http):
    body = {
        "client_id": creds["client_id"],
        "audience": creds["audience"],
        "grant_type": "client_credentials",
    }
    # Through the SDK: its RestClient turns the body into x-www-form-urlencoded when told so.
    via_sdk = get_token_client.authenticated_post(
        f"http://{server.host}/oauth/token",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert via_sdk["token_type"] == "Bearer" and via_sdk["access_token"]
    # And with plain HTTP, to be certain of the exact wire content type (the SDK's conversion is internal).
    resp = http.post(
        f"{server.url}/oauth/token",
        content=urlencode({**body, "client_secret": creds["client_secret"]}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["token_type"] == "Bearer"
    assert "no-store" in resp.headers.get("cache-control", "")
    # The JSON body from management-client.json works verbatim, too.
    resp = http.post(f"{server.url}/oauth/token", json=creds)
    assert resp.status_code == 200, resp.text
    assert set(resp.json()["scope"].split(" ")) == ALL_SCOPES


def test_token_wrong_secret_is_401_access_denied(server, creds, http):
    bad = GetToken(server.host, creds["client_id"], client_secret="not-the-secret", protocol="http")
    with pytest.raises(Auth0Error) as exc:
        bad.client_credentials(creds["audience"])
    assert exc.value.status_code == 401
    assert exc.value.error_code == "access_denied"
    assert exc.value.message == "Unauthorized"
    # The SDK's Auth0Error does not keep the body; check the exact OAuth body with plain HTTP.
    resp = http.post(f"{server.url}/oauth/token", json={**creds, "client_secret": "not-the-secret"})
    assert resp.status_code == 401
    assert resp.json() == {"error": "access_denied", "error_description": "Unauthorized"}


# --------------------------------------------------------------------------------------------
# §4 users
# --------------------------------------------------------------------------------------------


def test_list_users_include_totals_true_pages_everything(mgmt, recorder):
    users, total = all_users_via_sdk(mgmt, recorder)
    assert total == SEED_COUNT
    assert len(users) == total
    assert len({u["user_id"] for u in users}) == total
    for u in users:
        assert u["user_id"].startswith("auth0|")
        assert u["identities"][0]["connection"] == UPA
        assert u["identities"][0]["provider"] == "auth0"
        assert u["identities"][0]["isSocial"] is False
        assert_timestamps(u)
    # a page past the end is empty, with the right shape
    pager = mgmt.users.list(page=50, per_page=100, include_totals=True)
    raw = recorder.last_json()
    assert raw["users"] == [] and raw["length"] == 0 and raw["total"] == SEED_COUNT
    assert raw["start"] == 5000 and raw["limit"] == 100
    assert not pager.items


def test_list_users_include_totals_false_is_bare_array(mgmt, recorder):
    first = mgmt.users.list(page=0, per_page=7, include_totals=True)
    expected_ids = [u["user_id"] for u in recorder.last_json()["users"]]
    # SDK quirk (6.8.0): users.list always parses the body as the include_totals object, so the
    # bare array Auth0 (and userbridge) return for include_totals=false raises ParsingError; the
    # request was still made by the SDK and the body is on the exception.
    try:
        pager = mgmt.users.list(page=0, per_page=7, include_totals=False)
        body = recorder.last_json()
        assert pager is not None
    except ParsingError as e:
        assert e.status_code == 200
        body = e.body
    assert "include_totals=false" in str(recorder.last.request.url)
    assert isinstance(body, list), body
    assert [u["user_id"] for u in body] == expected_ids
    assert len(first.items) == 7
    for u in body:
        assert_timestamps(u)


def test_user_crud_roundtrip(mgmt, recorder):
    mixed = "Jane.Doe+E2E@Example.COM"
    lower = mixed.lower()
    created = mgmt.users.create(
        connection=UPA,
        email=mixed,
        password="correct horse battery staple",
        user_metadata={"a": 1, "b": {"x": 1}},
    )
    raw = recorder.last_json()
    assert recorder.last.status_code == 201
    user_id = created.user_id
    try:
        assert re.match(r"^auth0\|[0-9a-f]{24}$", user_id), user_id
        assert raw["email"] == lower
        assert raw["name"] == lower, "name defaults to the (lower-cased) email"
        assert raw["nickname"] == lower.split("@")[0]
        assert raw["email_verified"] is False
        assert raw["identities"] == [
            {"connection": UPA, "isSocial": False, "provider": "auth0", "user_id": user_id.split("|", 1)[1]}
        ]
        assert raw["user_metadata"] == {"a": 1, "b": {"x": 1}}
        assert "password" not in raw and not any("hash" in k for k in raw)
        assert_timestamps(raw)
        assert raw["created_at"] == raw["updated_at"]

        got = mgmt.users.get(user_id)
        raw_get = recorder.last_json()
        assert got.user_id == user_id
        assert raw_get == raw
        assert_timestamps(raw_get)

        # PATCH merges metadata at the root level only: nested objects are replaced.
        mgmt.users.update(user_id, user_metadata={"b": {"y": 2}, "c": 3})
        raw_upd = recorder.last_json()
        assert recorder.last.status_code == 200
        assert raw_upd["user_metadata"] == {"a": 1, "b": {"y": 2}, "c": 3}
        assert_timestamps(raw_upd)
        assert raw_upd["updated_at"] >= raw_upd["created_at"] == raw["created_at"]

        # A top-level key set to null is deleted.
        mgmt.users.update(user_id, user_metadata={"a": None})
        assert json.loads(recorder.last.request.content) == {"user_metadata": {"a": None}}
        raw_upd = recorder.last_json()
        assert raw_upd["user_metadata"] == {"b": {"y": 2}, "c": 3}
        assert_timestamps(raw_upd)
        assert mgmt.users.get(user_id).user_metadata == {"b": {"y": 2}, "c": 3}

        # users-by-email matches whatever the case of the query.
        found = mgmt.users.list_users_by_email(email=mixed)
        assert [u.user_id for u in found] == [user_id]
        for u in recorder.last_json():
            assert_timestamps(u)
        assert [u.user_id for u in mgmt.users.list_users_by_email(email=lower)] == [user_id]
    finally:
        deleted = mgmt.users.with_raw_response.delete(user_id)
    assert deleted.status_code == 204
    assert recorder.last.content == b""

    with pytest.raises(ApiError) as exc:
        mgmt.users.get(user_id)
    assert exc.value.status_code == 404
    assert exc.value.body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }
    assert mgmt.users.list_users_by_email(email=lower) == []


# --------------------------------------------------------------------------------------------
# §6 connections and the extension's calls (§11.2)
# --------------------------------------------------------------------------------------------


def test_connections_list_extension_call(mgmt, recorder):
    # The extension calls GET /api/v2/connections?per_page=100&page=0&include_totals=true&strategy=auth0.
    # SDK 6.8.0 models checkpoint paging (from/take, take defaults to 50); take=None drops it and
    # the offset parameters go in as additional query parameters.
    pager = mgmt.connections.list(
        strategy="auth0",
        include_totals=True,
        take=None,
        request_options={"additional_query_parameters": {"per_page": 100, "page": 0}},
    )
    sent = parse_qs(urlsplit(str(recorder.last.request.url)).query)
    assert sent == {"per_page": ["100"], "page": ["0"], "include_totals": ["true"], "strategy": ["auth0"]}
    raw = recorder.last_json()
    assert raw["start"] == 0 and raw["limit"] == 100
    assert raw["total"] == len(raw["connections"]) >= 1
    by_name = {c.name: c for c in pager.items}
    assert UPA in by_name, list(by_name)
    upa = by_name[UPA]
    assert CON_ID_RE.match(upa.id), upa.id
    assert upa.strategy == "auth0"
    # a strategy userbridge does not have returns none
    other = mgmt.connections.list(
        strategy="google-oauth2",
        include_totals=True,
        take=None,
        request_options={"additional_query_parameters": {"per_page": 100, "page": 0}},
    )
    assert not other.items and recorder.last_json()["total"] == 0


def upa_connection_id(mgmt: Auth0) -> str:
    pager = mgmt.connections.list(
        strategy="auth0",
        include_totals=True,
        take=None,
        request_options={"additional_query_parameters": {"per_page": 100, "page": 0}},
    )
    return next(c.id for c in pager.items if c.name == UPA)


def test_v3_count_query(mgmt, recorder):
    pager = mgmt.users.list(
        per_page=1,
        page=0,
        include_totals=True,
        search_engine="v3",
        q=f'identities.connection:"{UPA}"',
    )
    sent = parse_qs(urlsplit(str(recorder.last.request.url)).query)
    assert sent["q"] == [f'identities.connection:"{UPA}"']
    raw = recorder.last_json()
    assert raw["total"] == SEED_COUNT  # every user created by other tests is deleted again
    assert raw["length"] == 1 and raw["limit"] == 1 and raw["start"] == 0
    assert len(pager.items) == 1
    assert_timestamps(raw["users"][0])


# --------------------------------------------------------------------------------------------
# §7 export jobs, §8 export file, §9 download link
# --------------------------------------------------------------------------------------------


HOSTILE_USERS = [
    # formula-looking text, quotes, comma, CR/LF inside one value
    {"email": "hostile.formula@example.org", "given_name": '=HYPERLINK("http://x")', "family_name": 'O"Brien, Jr.\r\nline2'},
    # plain numbers are exempt from the prefix (E.164 survives); a lone "-" is not
    {"email": "hostile.number@example.org", "given_name": "+12125550001", "family_name": "-"},
]


def test_csv_export_with_extension_fields(mgmt, recorder, http, server):
    # Two extra users with values the seed lacks in these four columns; removed again at the end.
    extra_ids = [mgmt.users.create(connection=UPA, **u).user_id for u in HOSTILE_USERS]
    try:
        _check_csv_export(mgmt, recorder, http, server)
    finally:
        for uid in extra_ids:
            mgmt.users.delete(uid)


def _check_csv_export(mgmt, recorder, http, server):
    users, total = all_users_via_sdk(mgmt, recorder)
    assert total == SEED_COUNT + len(HOSTILE_USERS)
    con_id = upa_connection_id(mgmt)

    job = create_export(mgmt, connection_id=con_id, format="csv", fields=CSV_FIELDS)
    created_raw = recorder.last_json()
    assert recorder.last.status_code == 201
    assert created_raw["connection_id"] == con_id
    assert created_raw["connection"] == UPA
    assert created_raw["format"] == "csv"
    assert created_raw["fields"] == CSV_FIELDS
    assert "limit" not in created_raw
    assert_timestamps(created_raw, ("created_at",))

    done = wait_for_job(mgmt, recorder, job.id)
    assert done["type"] == "users_export" and done["format"] == "csv"
    assert done["fields"] == CSV_FIELDS
    location = done["location"]
    assert location.startswith(f"{server.url}/exports/{job.id}/userbridge.csv.gz?"), location
    query = parse_qs(urlsplit(location).query)
    assert set(query) == {"expires", "signature"}
    assert 0 < int(query["expires"][0]) - time.time() <= 61

    blob = download(http, location)
    assert gzip_original_name(blob) == "userbridge.csv"
    text_bytes = gzip.decompress(blob)
    assert not text_bytes.startswith(b"\xef\xbb\xbf"), "no BOM by default"
    assert text_bytes.startswith(b"Email Address,Created At,First Name,Last Name\n")
    assert text_bytes.endswith(b"\n")
    rows = list(csv.reader(io.StringIO(text_bytes.decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert header == ["Email Address", "Created At", "First Name", "Last Name"]
    assert len(body) == total
    # RFC 4180 minimal quoting + smart formula escape, byte for byte (export-formats.md §3.3, §4.2)
    assert b',"\'=HYPERLINK(""http://x"")","O""Brien, Jr.\r\nline2"\n' in text_bytes
    assert b",+12125550001,'-\n" in text_bytes
    assert all(len(r) == 4 for r in body)

    emails_in_file = {r[0] for r in body}
    for u in users:
        assert smart_cell(u.get("email")) in emails_in_file, u.get("email")

    # Every cell matches the profile the API returns (smart formula escaping, missing → empty).
    expected = sorted(
        [
            smart_cell(u.get("email")),
            smart_cell(u.get("created_at")),
            smart_cell(u.get("given_name")),
            smart_cell(u.get("family_name")),
        ]
        for u in users
    )
    assert sorted(body) == expected


def test_json_export_is_ndjson(mgmt, recorder, http, server):
    _, total = all_users_via_sdk(mgmt, recorder)
    job = create_export(mgmt, format="json")
    created_raw = recorder.last_json()
    assert "connection_id" not in created_raw and "connection" not in created_raw
    assert created_raw["format"] == "json"
    done = wait_for_job(mgmt, recorder, job.id)
    location = done["location"]
    assert location.startswith(f"{server.url}/exports/{job.id}/userbridge.json.gz?"), location
    blob = download(http, location)
    assert gzip_original_name(blob) == "userbridge.json"
    data = gzip.decompress(blob).decode("utf-8")
    assert not data.startswith("\ufeff") and not data.lstrip().startswith("[")
    assert data.endswith("\n")
    lines = data[:-1].split("\n")
    assert len(lines) == total
    ids = []
    for line in lines:
        obj = json.loads(line)
        assert isinstance(obj, dict)
        assert obj["user_id"].startswith("auth0|")
        assert_timestamps(obj)
        ids.append(obj["user_id"])
    assert ids == sorted(ids), "export is ordered by user_id"
    assert len(set(ids)) == total


def test_expired_or_tampered_download_link_is_403_and_job_reread_gives_fresh_url(mgmt, recorder, http):
    job = create_export(mgmt, format="csv", fields=CSV_FIELDS[:1], limit=3)
    done = wait_for_job(mgmt, recorder, job.id)
    location = done["location"]

    # Move `expires` into the past: the signature no longer matches.
    parts = urlsplit(location)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q["expires"] = str(int(time.time()) - 3600)
    tampered = urlunsplit(parts._replace(query=urlencode(q)))
    resp = http.get(tampered)  # plain HTTP: the SDK has no download call
    assert resp.status_code == 403, resp.text
    assert resp.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "Signature expired or invalid",
        "errorCode": "invalid_signature",
    }

    # Re-reading the job mints a fresh URL (§9), which works.
    again = wait_for_job(mgmt, recorder, job.id)
    assert again["location"] != tampered
    rows = list(csv.reader(io.StringIO(gzip.decompress(download(http, again["location"])).decode("utf-8"))))
    assert rows[0] == ["Email Address"] and len(rows) == 1 + 3


def test_download_link_really_expires(tmp_path, http):
    """Second server with --download-link-lifetime 1: a genuine, untampered link stops working."""
    data_dir = tmp_path / "short-links"
    data_dir.mkdir()
    run_cli(data_dir, "users", "seed", "--count", "5")
    srv = start_server(data_dir, "--download-link-lifetime", "1")
    try:
        creds = srv.credentials()
        token = GetToken(srv.host, creds["client_id"], client_secret=creds["client_secret"], protocol="http")
        rec = ResponseRecorder()
        m = make_management_client(srv, token.client_credentials(creds["audience"])["access_token"], rec)
        job = create_export(m, format="json")
        location = wait_for_job(m, rec, job.id)["location"]
        expires = int(parse_qs(urlsplit(location).query)["expires"][0])
        assert expires - time.time() <= 2
        # Let the link's lifetime pass (bounded); the check below is on the response, not the wait.
        deadline = time.monotonic() + 10
        while time.time() <= expires + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        resp = http.get(location)
        assert resp.status_code == 403, resp.text
        assert resp.json() == {
            "statusCode": 403,
            "error": "Forbidden",
            "message": "Signature expired or invalid",
            "errorCode": "invalid_signature",
        }
        fresh = wait_for_job(m, rec, job.id)["location"]
        assert fresh != location
        assert int(parse_qs(urlsplit(fresh).query)["expires"][0]) > expires
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------------
# §2.3 401/403 and §3 errors
# --------------------------------------------------------------------------------------------


def test_token_without_read_users_gets_403_insufficient_scope(get_token_client, server, creds):
    tok = scoped_token(get_token_client, server, creds["audience"], "read:connections")
    assert tok["scope"] == "read:connections"
    m = make_management_client(server, tok["access_token"])
    with pytest.raises(ApiError) as exc:
        m.users.list(page=0, per_page=1, include_totals=True)
    assert exc.value.status_code == 403
    assert exc.value.body == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "Insufficient scope, expected any of: read:users",
        "errorCode": "insufficient_scope",
    }
    # the scope it has still works
    assert any(c.name == UPA for c in m.connections.list(strategy="auth0", take=None).items)


def test_no_token_is_401_missing_authentication(server, http):
    # Plain HTTP: the SDK always sends an Authorization header, so it cannot make this request.
    resp = http.get(f"{server.api_base}/users")
    assert resp.status_code == 401
    assert resp.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Missing authentication",
        "attributes": {"error": "Missing authentication"},
    }
    assert resp.headers.get("www-authenticate", "").startswith("Bearer ")


def test_invalid_token_is_401_invalid_token(server):
    m = make_management_client(server, "not-a-jwt")
    with pytest.raises(ApiError) as exc:
        m.users.list(page=0, per_page=1, include_totals=True)
    assert exc.value.status_code == 401
    assert exc.value.body == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Invalid token",
        "attributes": {"error": "Invalid token"},
    }
    assert exc.value.headers.get("www-authenticate", "").startswith("Bearer ")


def test_export_bad_field_path_is_400_invalid_body(mgmt):
    with pytest.raises(ApiError) as exc:
        mgmt.jobs.users_exports.create(format="csv", fields=[{"name": "no_such_attribute"}])
    assert exc.value.status_code == 400
    body = exc.value.body
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["errorCode"] == "invalid_body"
    assert "fields[0].name" in body["message"], body


def test_export_unknown_connection_is_404(mgmt):
    with pytest.raises(ApiError) as exc:
        mgmt.jobs.users_exports.create(format="csv", connection_id="con_AAAAAAAAAAAAAAAA")
    assert exc.value.status_code == 404
    assert exc.value.body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The connection does not exist.",
        "errorCode": "inexistent_connection",
    }


def test_unknown_job_is_404(mgmt):
    with pytest.raises(ApiError) as exc:
        mgmt.jobs.get("job_AAAAAAAAAAAAAAAA")
    assert exc.value.status_code == 404
    assert exc.value.body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The job does not exist.",
        "errorCode": "inexistent_job",
    }
