"""Need to know in request JSON and in 403s: outside legal, compliance, fraud_risk and audit, a
legal_hold, regulatory or non_liftable reason shows only as RESTRICTED and its owning team."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from thawgate.bootstrap import App
from thawgate.entrypoints.api.app import create_app
from thawgate.services import identity, loader

# Words that would tip someone off about a law-enforcement hold.
TELLS = ("LAW_ENFORCEMENT", "legal-hold", "legal hold", "LE_RELEASE")


@pytest.fixture
def client(loaded: App) -> TestClient:
    loader.load_world(
        loaded.uow(),
        loaded.env,
        {
            "principals": [
                {"id": "rita", "team": "fraud_risk", "roles": ["requester"]},
                {"id": "vic", "team": "vip_desk", "roles": ["restriction_placer"]},
            ]
        },
    )
    return TestClient(create_app(loaded))


def bearer(app: App, pid: str) -> dict[str, str]:
    token = identity.issue_token(app.uow(), app.env, principal_id=pid, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def _ato_request(loaded: App, client: TestClient) -> str:
    observed = (loaded.env.clock() - timedelta(hours=1)).isoformat()
    body = {
        "kind": "thaw",
        "account_id": "A1",
        "targets": ["r-ato"],
        "justification": "customer verified",
        "evidence": [{"type": "KYC_LIVENESS_PASS", "reference": "k", "observed_at": observed}],
    }
    created = client.post("/v1/requests", json=body, headers=bearer(loaded, "alice"))
    assert created.status_code == 201, created.json()
    return str(created.json()["id"])


def test_a_target_raised_to_a_legal_hold_is_hidden_from_the_requester(
    loaded: App, client: TestClient
) -> None:
    rid = _ato_request(loaded, client)
    amended = client.patch(
        "/v1/accounts/A1/restrictions/r-ato",
        json={"reason": "LAW_ENFORCEMENT", "note": "subpoena 2026-114"},
        headers=bearer(loaded, "placer"),
    )
    assert amended.status_code == 200, amended.json()
    # The next approval re-evaluates: the requester's team may no longer ask for this.
    client.post(
        f"/v1/requests/{rid}/approvals", json={"comment": "ok"}, headers=bearer(loaded, "fay")
    )

    cleared = client.get(f"/v1/requests/{rid}", headers=bearer(loaded, "fay")).json()
    assert cleared["status"] == "rejected"
    assert "LAW_ENFORCEMENT" in json.dumps(cleared)  # fraud_risk needs to know
    assert "restricted" not in cleared

    own = client.get(f"/v1/requests/{rid}", headers=bearer(loaded, "alice")).json()
    text = json.dumps(own)
    assert not [t for t in TELLS if t in text], text
    assert own["status"] == "rejected"
    assert own["status_reason"] == "RESTRICTED (owning team: legal)"
    assert own["restricted"] == {"reason": "RESTRICTED", "owning_teams": ["legal"]}
    assert all(r["id"] == "restricted" for r in own["decision"]["rules"])

    listed = client.get("/v1/requests", headers=bearer(loaded, "alice")).json()["items"]
    assert [r["status_reason"] for r in listed if r["id"] == rid] == [
        "RESTRICTED (owning team: legal)"
    ]
    staff = client.get(f"/v1/requests/{rid}", headers=bearer(loaded, "vic")).json()
    assert not [t for t in TELLS if t in json.dumps(staff)]


def test_a_403_names_no_sensitive_policy_to_the_uncleared(loaded: App, client: TestClient) -> None:
    observed = (loaded.env.clock() - timedelta(hours=1)).isoformat()
    body = {
        "kind": "thaw",
        "account_id": "A2",
        "targets": ["r-law"],
        "justification": "please",
        "evidence": [{"type": "LE_RELEASE_ORDER", "reference": "x", "observed_at": observed}],
    }
    refused = client.post("/v1/requests", json=body, headers=bearer(loaded, "alice"))
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["policies"] == ["restricted"]
    assert not [t for t in TELLS if t in json.dumps(problem)], problem

    cleared = client.post("/v1/requests", json=body, headers=bearer(loaded, "rita"))
    assert cleared.status_code == 403
    assert cleared.json()["policies"] == ["thaw-matrix-LAW_ENFORCEMENT"]

    with loaded.engine.connect() as conn:  # the audit log keeps the truth, for the auditors
        rows = conn.exec_driver_sql(
            "SELECT data FROM audit_events WHERE actor = 'alice' AND action = 'refused:forbidden'"
        ).all()
    assert "thaw-matrix-LAW_ENFORCEMENT" in str(rows)


def test_standard_reasons_are_shown_to_everyone(loaded: App, client: TestClient) -> None:
    rid = _ato_request(loaded, client)
    own = client.get(f"/v1/requests/{rid}", headers=bearer(loaded, "alice")).json()
    assert "restricted" not in own
    assert [r["id"] for r in own["decision"]["rules"]] == ["ato-thaw"]
