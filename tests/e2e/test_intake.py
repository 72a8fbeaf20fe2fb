"""Submission at the edge: idempotent retries, one open request per target, bad input,
authentication, and the published contract."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from .conftest import Gate

pytestmark = pytest.mark.e2e


def test_a_retry_with_the_same_key_returns_the_same_request(gate: Gate) -> None:
    key = f"idem-{uuid.uuid4().hex}"
    body = gate.thaw("idem-1", "r-idem-1", proof=[gate.evidence("KYC_LIVENESS_PASS")])

    first = gate.submit("alice", body, **{"Idempotency-Key": key})
    again = gate.submit("alice", body, **{"Idempotency-Key": key})

    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["state_digest"] == first.json()["state_digest"]
    assert [r["id"] for r in gate.requests_on("idem-1")] == [first.json()["id"]]

    changed = {**body, "justification": "a different story"}
    mismatch = gate.submit("alice", changed, **{"Idempotency-Key": key})

    problem = gate.problem(mismatch, 422, "idempotency-mismatch")
    assert key in problem["detail"]
    assert [r["id"] for r in gate.requests_on("idem-1")] == [first.json()["id"]]


def test_a_second_open_request_on_the_same_target_conflicts(gate: Gate) -> None:
    proof = [gate.evidence("KYC_LIVENESS_PASS")]
    first = gate.submitted("alice", gate.thaw("dup-1", "r-dup-1", proof=proof))
    assert first["status"] == "pending_approval"

    for requester in ("alice", "rita"):
        resp = gate.submit(requester, gate.thaw("dup-1", "r-dup-1", proof=proof))
        problem = gate.problem(resp, 409, "conflict")
        assert first["id"] in problem["detail"]
    assert [r["id"] for r in gate.requests_on("dup-1")] == [first["id"]]

    # Withdrawn, the target is free again.
    withdrawn = gate("alice").post(f"/v1/requests/{first['id']}/withdrawal")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    second = gate.submitted("alice", gate.thaw("dup-1", "r-dup-1", proof=proof))
    assert second["status"] == "pending_approval"
    assert second["id"] != first["id"]


def _valid(gate: Gate) -> dict[str, Any]:
    return gate.thaw("bad-1", "r-bad-1", proof=[gate.evidence("KYC_LIVENESS_PASS")])


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("unknown account", "account_id"),
        ("target on another account", "targets"),
        ("already-lifted target", "targets"),
        ("missing justification", "justification"),
        ("blank justification", "justification"),
        ("targets as a string", "targets"),
        ("thaw naming a binding", "targets"),
        ("unknown evidence type", "evidence"),
    ],
)
def test_bad_input_is_a_validation_problem_naming_the_field(
    gate: Gate, case: str, field: str
) -> None:
    valid = _valid(gate)
    bodies: dict[str, dict[str, Any]] = {
        "unknown account": {**valid, "account_id": "no-such-account"},
        "target on another account": {**valid, "targets": ["r-bad-2"]},
        "already-lifted target": {**valid, "account_id": "lifted-1", "targets": ["r-lifted-1"]},
        "missing justification": _without(valid, "justification"),
        "blank justification": {**valid, "justification": "   "},
        "targets as a string": {**valid, "targets": "r-bad-1"},
        "thaw naming a binding": {**valid, "targets": ["b-bad-1"]},
        "unknown evidence type": {
            **valid,
            "evidence": [{**valid["evidence"][0], "type": "A_FRIEND_SAID_SO"}],
        },
    }
    if case == "already-lifted target":
        lifted = gate.restriction("lifted-1", "r-lifted-1")
        if lifted["status"] == "active":
            gate.thaw_to_executed("lifted-1", "r-lifted-1")
    existing = {aid: _ids(gate, aid) for aid in ("bad-1", "bad-2", "lifted-1")}

    resp = gate.submit("alice", bodies[case])

    problem = gate.problem(resp, 422, "validation")
    assert field in problem["detail"], problem
    assert {aid: _ids(gate, aid) for aid in existing} == existing  # nothing written
    assert gate.requests_on("no-such-account") == []
    assert gate.restriction("bad-1", "r-bad-1")["status"] == "active"


def _ids(gate: Gate, account_id: str) -> list[str]:
    return [r["id"] for r in gate.requests_on(account_id)]


def test_malformed_json_is_a_validation_problem(gate: Gate) -> None:
    resp = gate("alice").post(
        "/v1/requests",
        content=b'{"kind": "thaw", "account_id": "bad-1", "targets": [',
        headers={"Content-Type": "application/json"},
    )

    problem = gate.problem(resp, 422, "validation")
    assert "json" in problem["detail"].lower(), problem
    assert gate.requests_on("bad-1") == []


@pytest.mark.parametrize(
    "authorization", [None, "Bearer tg_not-a-token-we-issued", "Basic YWxpY2U6cw=="]
)
def test_no_or_a_bogus_token_is_unauthenticated(
    gate: Gate, anonymous: httpx.Client, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    calls = [
        anonymous.get("/v1/requests", headers=headers),
        anonymous.get("/v1/accounts/ato-1", headers=headers),
        anonymous.post("/v1/requests", json=_valid(gate), headers=headers),
    ]
    for resp in calls:
        gate.problem(resp, 401, "unauthenticated")
        assert resp.headers["www-authenticate"].lower().startswith("bearer")
    assert gate.requests_on("bad-1") == []


def test_an_unknown_request_is_not_found(gate: Gate) -> None:
    gate.problem(gate("fay").get("/v1/requests/req_nope"), 404, "not-found")


def test_the_openapi_contract_is_served(anonymous: httpx.Client) -> None:
    resp = anonymous.get("/openapi.json")

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    paths = resp.json()["paths"]
    assert "post" in paths["/v1/requests"]
    assert "get" in paths["/v1/requests"]
    assert "post" in paths["/v1/requests/{request_id}/approvals"]
    assert "get" in paths["/v1/accounts/{account_id}"]
