"""The console's break-glass review on the dashboard and its access-review page, over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.integration.authority_support import caller, grant_role, load_admins
from tests.integration.conftest import Clock
from tests.integration.helpers import submit

from thawgate.bootstrap import App
from thawgate.domain.errors import ValidationFailed
from thawgate.entrypoints.api.app import create_app
from thawgate.services import break_glass, identity, loader

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "console password 1"
WHY = "pager outage: customer locked out during a verified incident call"


@pytest.fixture
def org(loaded: App) -> App:
    load_admins(loaded)
    loader.load_world(
        loaded.uow(),
        loaded.env,
        {
            "principals": [{"id": "sid", "team": "fraud_risk", "roles": ["senior_fraud_reviewer"]}],
            "accounts": [],
        },
    )
    for pid in ("finn", "sam", "sid", "ada", "abe", "audra"):
        identity.set_password(loaded.uow(), loaded.env, principal_id=pid, password=PASSWORD)
    return loaded


def logged_in(app: App, pid: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(app))
    token = CSRF.search(client.get("/login").text)
    assert token
    done = client.post(
        "/login",
        data={"username": pid, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get("/dashboard" if pid not in ("ada", "abe") else "/access")
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return client, found.group(1)


def test_a_break_glass_stays_on_the_dashboard_until_a_second_senior_reviews_it(
    org: App,
) -> None:
    r = submit(org, "alice", "A1", ["r-ato"])
    _, record = break_glass.break_glass(
        org.uow(), org.env, actor=caller(org, "sam"), request_id=r.id, justification=WHY
    )
    audra, _ = logged_in(org, "audra")
    card = audra.get("/dashboard").text
    assert f'data-break-glass="{record.id}"' in card
    assert 'action="/break-glass/' not in card  # an auditor sees it, cannot review it

    sam, sam_csrf = logged_in(org, "sam")
    assert f'action="/break-glass/{record.id}/review"' not in sam.get("/dashboard").text
    refused = sam.post(
        f"/break-glass/{record.id}/review",
        data={"csrf_token": sam_csrf, "verdict": "upheld", "comment": "mine"},
    )
    assert refused.status_code == 403  # never the one who broke glass, whatever the page shows

    sid, sid_csrf = logged_in(org, "sid")
    assert f'action="/break-glass/{record.id}/review"' in sid.get("/dashboard").text
    done = sid.post(
        f"/break-glass/{record.id}/review",
        data={"csrf_token": sid_csrf, "verdict": "upheld", "comment": "verified the incident"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert f'data-break-glass="{record.id}"' not in sid.get("/dashboard").text
    assert break_glass.open_break_glass_reviews(org.uow()) == []


def test_access_review_confirms_and_revokes_grants(org: App) -> None:
    kept = grant_role(org, "finn", "senior_fraud_reviewer")
    dropped = grant_role(org, "fay", "senior_fraud_reviewer")
    ada, csrf = logged_in(org, "ada")
    page = ada.get("/access").text
    assert f'data-grant="{kept.id}"' in page
    assert f'data-grant="{dropped.id}"' in page
    assert 'data-role="senior_fraud_reviewer" data-team="fraud_risk"' in page

    ok = ada.post(f"/access/{kept.id}/confirm", data={"csrf_token": csrf, "comment": "needed"})
    assert ok.status_code == 200
    assert "review clock starts again" in ok.text
    gone = ada.post(f"/access/{dropped.id}/revoke", data={"csrf_token": csrf, "comment": "moved"})
    assert gone.status_code == 200
    with org.uow(readonly=True) as uow:
        after_kept, after_dropped = uow.grants.get(kept.id), uow.grants.get(dropped.id)
    assert after_kept is not None
    assert after_kept.reviewed_by == "ada"
    assert after_dropped is not None
    assert after_dropped.status == "revoked"
    assert f'data-grant="{dropped.id}"' not in ada.get("/access").text

    finn, finn_csrf = logged_in(org, "finn")
    assert finn.get("/access").status_code == 403  # not an access admin or auditor
    forced = finn.post(f"/access/{kept.id}/revoke", data={"csrf_token": finn_csrf, "comment": "x"})
    assert forced.status_code == 403


def test_the_dashboard_shows_alerts_and_break_glass_only_to_whom_the_api_shows_them(
    org: App,
) -> None:
    """The dashboard is read with read_audit, but its alerts and break-glass uses need the same
    Cedar actions as GET /v1/alerts and GET /v1/break-glass: a fraud reviewer has neither."""
    r = submit(org, "alice", "A1", ["r-ato"])
    _, record = break_glass.break_glass(
        org.uow(), org.env, actor=caller(org, "sam"), request_id=r.id, justification=WHY
    )
    finn, _ = logged_in(org, "finn")
    page = finn.get("/dashboard")
    assert page.status_code == 200  # the figures, still
    assert record.id not in page.text
    assert WHY not in page.text
    assert record.alert_id not in page.text
    assert 'data-testid="alerts"' not in page.text
    api = TestClient(create_app(org))
    token = identity.issue_token(org.uow(), org.env, principal_id="finn", ttl=timedelta(days=1))
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/v1/alerts", headers=bearer).status_code == 403
    assert api.get("/v1/break-glass?open=true", headers=bearer).status_code == 403

    sid, _ = logged_in(org, "sid")
    shown = sid.get("/dashboard").text
    assert f'data-break-glass="{record.id}"' in shown
    assert 'data-testid="alerts"' in shown
    assert "break_glass" in shown  # the alert's kind


def test_a_break_glass_review_needs_a_comment(org: App) -> None:
    r = submit(org, "alice", "A1", ["r-ato"])
    _, record = break_glass.break_glass(
        org.uow(), org.env, actor=caller(org, "sam"), request_id=r.id, justification=WHY
    )
    sid, csrf = logged_in(org, "sid")
    refused = sid.post(
        f"/break-glass/{record.id}/review",
        data={"csrf_token": csrf, "verdict": "upheld", "comment": "   "},
    )
    assert refused.status_code == 422
    with pytest.raises(ValidationFailed, match="comment"):
        break_glass.review_use(
            org.uow(),
            org.env,
            actor=caller(org, "sid"),
            break_glass_id=record.id,
            verdict="misuse",
            comment="",
        )
    assert [b.id for b in break_glass.open_break_glass_reviews(org.uow())] == [record.id]


def test_the_access_page_lapses_reviews_after_the_configured_period(org: App, clock: Clock) -> None:
    """THAWGATE_ACCESS_REVIEW_DAYS holds on the console as on `thawgate access review`."""
    grant = grant_role(org, "finn", "senior_fraud_reviewer")
    org.settings.access_review_days = 10
    clock.advance(days=11)
    ada, _ = logged_in(org, "ada")
    page = ada.get("/access").text
    row = page.split(f'data-grant="{grant.id}"')[1].split("</tr>")[0]
    assert "overdue" in row
