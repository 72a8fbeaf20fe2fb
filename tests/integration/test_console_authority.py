"""The console's break-glass review on the dashboard and its access-review page, over HTTP."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.integration.authority_support import caller, grant_role, load_admins
from tests.integration.helpers import submit

from thawgate.bootstrap import App
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
    for pid in ("finn", "sam", "sid", "ada", "abe"):
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
    finn, _ = logged_in(org, "finn")
    card = finn.get("/dashboard").text
    assert f'data-break-glass="{record.id}"' in card
    assert 'action="/break-glass/' not in card  # a fraud reviewer sees it, cannot review it

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
