"""auth0-python's jobs client importing users through the real server (issue 3)."""

import json
import time
from typing import Any, Dict

import pytest
from auth0.authentication import GetToken
from auth0.management.client import Auth0

from conftest import make_management_client, start_server


@pytest.fixture(scope="module")
def mgmt(tmp_path_factory: pytest.TempPathFactory):
    """A server of its own: imports add users, which the other module counts."""
    server = start_server(tmp_path_factory.mktemp("import") / "data")
    try:
        creds = server.credentials()
        token = GetToken(
            server.host, creds["client_id"], client_secret=creds["client_secret"], protocol="http"
        ).client_credentials(creds["audience"])["access_token"]
        yield make_management_client(server, token)
    finally:
        server.stop()


def connection_id(mgmt: Auth0) -> str:
    for connection in mgmt.connections.list(take=None):
        if connection.name == "Username-Password-Authentication":
            return connection.id
    raise AssertionError("default connection missing")


def wait_for(mgmt: Auth0, job_id: str) -> Dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job = mgmt.jobs.get(job_id).dict()
        if job["status"] not in ("pending", "processing"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} never finished: {job}"
        time.sleep(0.1)


def test_sdk_imports_a_file_and_reads_the_errors_of_failed_users(mgmt: Auth0) -> None:
    users = [
        {"email": "import.one@example.org", "given_name": "One", "user_id": "import-0001",
         "password_hash": "$2b$10$C9qVQ1L0Y8mwUmsjr2NXdOq1j5tJpLeQnxz0Jz7K0m9m8l0k1j2h3"},
        {"email": "Import.Two@Example.org", "user_metadata": {"plan": "gold"}},
        {"email": "not-an-email", "blocked": "yes"},
        {"email": "import.one@example.org"},
        {"email": "import.three@example.org", "Given Name": "Three",
         "custom_password_hash": {"algorithm": "sha256",
                                  "hash": {"value": "ab" * 32, "encoding": "hex"}}},
    ]
    payload = json.dumps(users).encode()
    job = mgmt.jobs.users_imports.create(
        users=("users.json", payload, "application/json"),
        connection_id=connection_id(mgmt),
        upsert=False,
        external_id="sdk-batch-1",
    ).dict()
    assert job["type"] == "users_import"
    assert job["status"] == "pending"
    assert job["connection"] == "Username-Password-Authentication"
    assert job["external_id"] == "sdk-batch-1"

    done = wait_for(mgmt, job["id"])
    assert done["status"] == "completed", done
    assert done["summary"] == {"inserted": 2, "updated": 0, "failed": 3, "total": 5}

    errors = mgmt.jobs.errors.get(job["id"])
    assert isinstance(errors, list) and len(errors) == 3
    by_index = {e.dict()["index"] if hasattr(e, "dict") else e["index"]: e for e in errors}
    as_dicts = [e.dict() if hasattr(e, "dict") else e for e in errors]
    codes = {d["index"]: sorted(err["code"] for err in d["errors"]) for d in as_dicts}
    assert codes[2] == ["FORMAT", "INVALID_TYPE"], codes
    assert codes[3] == ["DUPLICATED_USER"], codes
    assert codes[4] == ["NOT_PASSED"], codes
    for d in as_dicts:
        for err in d["errors"]:
            assert err["message"].startswith(err["path"]) or err["path"] == "", err
    # Secrets are masked in the echoed record.
    three = next(d for d in as_dicts if d["index"] == 4)
    assert three["user"]["custom_password_hash"]["hash"]["value"] == "*****"
    assert "Given Name" in three["errors"][0]["message"]
    assert len(by_index) == 3

    found = mgmt.users.list_users_by_email(email="import.two@example.org")
    assert len(found) == 1
    assert found[0].user_metadata == {"plan": "gold"}


def test_clean_import_has_no_errors_and_upsert_replaces_metadata(mgmt: Auth0) -> None:
    conn = connection_id(mgmt)
    first = [{"email": "upsert.me@example.org", "user_metadata": {"theme": "dark", "consent": {"given": True}}}]
    job = mgmt.jobs.users_imports.create(
        users=("users.json", json.dumps(first).encode(), "application/json"), connection_id=conn
    ).dict()
    assert wait_for(mgmt, job["id"])["summary"] == {"inserted": 1, "updated": 0, "failed": 0, "total": 1}
    assert mgmt.jobs.errors.get(job["id"]) == []

    again = [{"email": "UPSERT.me@example.org", "user_metadata": {"theme": "light"}}]
    job = mgmt.jobs.users_imports.create(
        users=("users.ndjson", "\n".join(json.dumps(u) for u in again).encode(), "application/octet-stream"),
        connection_id=conn,
        upsert=True,
    ).dict()
    assert job["upsert"] is True
    assert wait_for(mgmt, job["id"])["summary"] == {"inserted": 0, "updated": 1, "failed": 0, "total": 1}
    user = mgmt.users.list_users_by_email(email="upsert.me@example.org")[0]
    # Import upsert replaces metadata entirely (PATCH would have merged).
    assert user.user_metadata == {"theme": "light"}


def test_unparsable_file_fails_the_job_and_says_where(mgmt: Auth0) -> None:
    job = mgmt.jobs.users_imports.create(
        users=("users.json", b'[{"email":"a@example.org"},\n{"email": }]', "application/json"),
        connection_id=connection_id(mgmt),
    ).dict()
    done = wait_for(mgmt, job["id"])
    assert done["status"] == "failed"
    assert "line 2" in done["status_details"], done
    assert mgmt.users.list_users_by_email(email="a@example.org") == []
