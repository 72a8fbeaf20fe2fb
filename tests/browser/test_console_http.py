"""The console over plain HTTP (no browser): stale approvals, idle sessions, redirects."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from itsdangerous import URLSafeSerializer
from tests.browser.conftest import PASSWORD, Console

pytestmark = pytest.mark.e2e
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def session(console: Console, who: str) -> tuple[httpx.Client, str]:
    """A logged-in client and its CSRF token."""
    client = httpx.Client(base_url=console.base_url, follow_redirects=False, timeout=10)
    login = client.get("/login")
    token = CSRF.search(login.text)
    assert token
    done = client.post(
        "/login",
        data={"username": who, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
    )
    assert done.status_code == 303, done.text
    page = client.get("/queue" if who in ("fay", "finn") else "/my")
    found = CSRF.search(page.text)
    assert found, page.text
    return client, found.group(1)


def file_thaw(console: Console, account: str, restriction: str, *, evidence: bool = True) -> str:
    client, csrf = session(console, "vic")
    observed = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 3600))
    proof = {
        "evidence_type_0": "KYC_LIVENESS_PASS",
        "evidence_reference_0": "kyc-9",
        "evidence_observed_at_0": observed,
    }
    done = client.post(
        "/requests/new",
        data={
            "csrf_token": csrf,
            "kind": "thaw",
            "account_id": account,
            "targets": restriction,
            "justification": "verified on a call",
            **(proof if evidence else {}),
        },
    )
    assert done.status_code == 303, done.text
    return done.headers["location"].split("/requests/")[1].split("?")[0]


def test_an_approval_of_a_state_the_reviewer_did_not_see_is_refused(console: Console) -> None:
    rid = file_thaw(console, "acct-4", "r-ato-4")
    client, csrf = session(console, "fay")
    refused = client.post(
        f"/requests/{rid}/approve",
        data={"csrf_token": csrf, "comment": "ok", "state_digest": "0" * 64},
    )
    assert refused.status_code == 409
    assert 'data-testid="stale"' in refused.text  # told, and shown the new state
    assert 'data-kind="stale"' in refused.text
    assert 'name="state_digest" value="' in refused.text
    detail = client.get(f"/requests/{rid}")
    assert "pending approval" in detail.text


def test_a_rejection_for_missing_evidence_reads_in_chinese(console: Console) -> None:
    rid = file_thaw(console, "acct-6", "r-ato-6", evidence=False)
    client, _ = session(console, "fay")
    english = client.get(f"/requests/{rid}")
    client.cookies.set("tg_lang", "zh_CN")
    chinese = client.get(f"/requests/{rid}")

    assert "missing or stale evidence: KYC_LIVENESS_PASS" in english.text
    assert "缺少证据或证据已过期\uff1aKYC_LIVENESS_PASS" in chinese.text


def test_an_approval_needs_a_comment(console: Console) -> None:
    rid = file_thaw(console, "acct-5", "r-ato-5")
    client, csrf = session(console, "finn")
    refused = client.post(f"/requests/{rid}/approve", data={"csrf_token": csrf, "comment": " "})
    assert refused.status_code == 422
    assert "a comment is required" in refused.text


def test_an_idle_session_ends(console: Console) -> None:
    client, _csrf = session(console, "finn")
    signed = client.cookies["tg_session"]
    serializer = URLSafeSerializer("dev-only-change-me", salt="thawgate-console-session")
    data = serializer.loads(signed)
    data["s"] -= 31 * 60  # last used 31 minutes ago: past the 30-minute idle limit
    client.cookies.set("tg_session", serializer.dumps(data))
    gone = client.get("/queue")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/login?next=/queue&why=idle"


def test_a_forged_cookie_is_not_a_session(console: Console) -> None:
    client = httpx.Client(base_url=console.base_url, follow_redirects=False, timeout=10)
    forged = URLSafeSerializer("not-the-secret", salt="thawgate-console-session")
    client.cookies.set("tg_session", forged.dumps({"t": "tg_x", "c": "x", "s": time.time()}))
    assert client.get("/queue").status_code == 303


def test_login_never_redirects_off_the_console(console: Console) -> None:
    client = httpx.Client(base_url=console.base_url, follow_redirects=False, timeout=10)
    token = CSRF.search(client.get("/login").text)
    assert token
    done = client.post(
        "/login",
        data={
            "username": "finn",
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "//evil.example/phish",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/"


def test_the_login_form_needs_its_csrf_token(console: Console) -> None:
    client = httpx.Client(base_url=console.base_url, follow_redirects=False, timeout=10)
    refused = client.post("/login", data={"username": "finn", "password": PASSWORD})
    assert refused.status_code == 403
    assert "tg_session" not in refused.cookies


def test_pages_cannot_be_framed_or_run_foreign_script(console: Console) -> None:
    client, _csrf = session(console, "fay")
    for path in ("/login", "/queue", "/dashboard"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "script-src 'self';" in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["cache-control"] == "no-store", path
