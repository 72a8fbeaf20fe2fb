"""The main paths of a thaw and an unbind, from submission to the account's final state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .conftest import Gate

pytestmark = pytest.mark.e2e

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def rule_ids(request: dict[str, object]) -> set[str]:
    decision = request["decision"]
    assert isinstance(decision, dict)
    return {r["id"] for r in decision["rules"]}


def test_ato_thaw_is_reviewed_approved_and_executed(gate: Gate) -> None:
    before = gate.restriction("ato-1", "r-ato-1")
    assert before["status"] == "active"
    policy = gate("fay").get("/v1/policy").json()

    body = gate.thaw("ato-1", "r-ato-1", proof=[gate.evidence("KYC_LIVENESS_PASS")])
    resp = gate.submit("alice", body)

    assert resp.status_code == 201, resp.text
    req = resp.json()
    assert req["status"] == "pending_approval"
    assert (req["kind"], req["account_id"], req["targets"]) == ("thaw", "ato-1", ["r-ato-1"])
    assert (req["requester"], req["ticket"]) == ("alice", body["ticket"])
    decision = req["decision"]
    assert decision["outcome"] == "review"
    assert decision["policy_version"] == policy["version"]
    assert "ato-thaw" in rule_ids(req)
    assert decision["required_approvals"] == [{"role": "fraud_reviewer", "count": 1}]
    assert decision["missing_evidence"] == []
    # a year-old quiet account: no account factor fires (alice's own volume today may, since the
    # suite files many requests as her)
    factors = {f["name"] for f in decision["risk"]["factors"]}
    assert factors <= {"requester_volume", "off_hours"}, factors
    assert decision["risk"]["score"] < 70
    assert req["plan"] == [
        {"op": "lift_restriction", "target": "r-ato-1", "expected_version": before["version"]}
    ]
    assert SHA256_HEX.fullmatch(req["state_digest"])
    assert (req["approvals"], req["stale_count"]) == ([], 0)
    assert gate.restriction("ato-1", "r-ato-1") == before  # the plan is a dry run

    resp = gate.approve("fay", req, digest=req["state_digest"])

    assert resp.status_code == 201, resp.text
    approved = resp.json()
    assert approved["status"] == "approved"
    assert [(a["principal"], a["role"], a["team"]) for a in approved["approvals"]] == [
        ("fay", "fraud_reviewer", "fraud_risk")
    ]
    done = gate.wait_for(req["id"], "executed")
    assert done["state_digest"] == req["state_digest"]
    after = gate.restriction("ato-1", "r-ato-1")
    assert after["status"] == "lifted"
    assert after["version"] == before["version"] + 1


def test_legal_hold_needs_two_keys_from_two_teams(gate: Gate) -> None:
    order = gate.evidence("LE_RELEASE_ORDER", ago=timedelta(days=1))
    req = gate.submitted("lena", gate.thaw("legal-1", "r-legal-1", proof=[order]))

    assert req["status"] == "pending_approval"
    assert "legal-hold" in rule_ids(req)
    assert req["decision"]["required_approvals"] == [
        {"role": "legal_reviewer", "count": 1},
        {"role": "senior_fraud_reviewer", "count": 1},
    ]
    assert req["decision"]["min_teams"] == 2

    first = gate.approve("leo", req)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "pending_approval"
    assert [(a["principal"], a["role"], a["team"]) for a in first.json()["approvals"]] == [
        ("leo", "legal_reviewer", "legal")
    ]

    # Another legal reviewer: the legal clause is filled, and nothing else fits their role.
    gate.problem(gate.approve("lia", req), 403, "forbidden")
    # A senior fraud reviewer from legal fits the open clause, but the teams must differ.
    gate.problem(gate.approve("lars", req), 403, "separation-of-duties")
    # And the first key can't turn the second.
    gate.problem(gate.approve("leo", req), 403, "separation-of-duties")
    still = gate.request(req["id"])
    assert still["status"] == "pending_approval"
    assert [a["principal"] for a in still["approvals"]] == ["leo"]
    assert gate.restriction("legal-1", "r-legal-1")["status"] == "active"

    second = gate.approve("sam", req)

    assert second.status_code == 201, second.text
    assert second.json()["status"] == "approved"
    assert [(a["principal"], a["role"], a["team"]) for a in second.json()["approvals"]] == [
        ("leo", "legal_reviewer", "legal"),
        ("sam", "senior_fraud_reviewer", "fraud_risk"),
    ]
    gate.wait_for(req["id"], "executed")
    after = gate.restriction("legal-1", "r-legal-1")
    assert (after["status"], after["version"]) == ("lifted", 2)


@pytest.mark.parametrize("requester", ["alice", "lena"])
def test_sanctions_hit_is_rejected_whoever_asks(gate: Gate, requester: str) -> None:
    body = gate.thaw("sanc-1", "r-sanc-1", proof=[gate.evidence("KYC_LIVENESS_PASS")])
    resp = gate.submit(requester, body)

    assert resp.status_code == 201, resp.text
    req = resp.json()
    assert req["status"] == "rejected"
    assert req["decision"]["outcome"] == "reject"
    rules = [{"id": r["id"], "effect": r["effect"]} for r in req["decision"]["rules"]]
    if requester == "lena":  # legal needs to know
        assert {"id": "sanctions-not-via-thaw", "effect": "reject"} in rules
        assert req["status_reason"].startswith("sanctions-not-via-thaw")
    else:  # customer_support must not be tipped off (need to know, docs/authority.md)
        assert rules == [{"id": "restricted", "effect": "reject"}]
        assert req["status_reason"] == "RESTRICTED (owning team: compliance)"
        assert "SANCTIONS" not in resp.text
    assert req["decision"]["required_approvals"] == []
    assert gate.request(req["id"])["status"] == "rejected"  # the record is kept
    gate.problem(gate.approve("fay", req), 409, "conflict")
    r = gate.restriction("sanc-1", "r-sanc-1")
    assert (r["status"], r["version"]) == ("active", 1)


def test_self_freeze_auto_approves_only_from_the_self_service_app(gate: Gate) -> None:
    verified = [gate.evidence("USER_IDENTITY_VERIFIED", ago=timedelta(minutes=10))]
    by_agent = gate.submitted("alice", gate.thaw("self-2", "r-self-2", proof=verified))
    assert by_agent["status"] == "pending_approval"
    assert "self-freeze" in rule_ids(by_agent)
    assert by_agent["decision"]["outcome"] == "review"
    assert by_agent["decision"]["required_approvals"] == [{"role": "fraud_reviewer", "count": 1}]

    by_app = gate.submitted("app", gate.thaw("self-1", "r-self-1", proof=verified))

    assert by_app["status"] in ("approved", "executed")
    assert by_app["decision"]["outcome"] == "approve"
    assert "self-freeze" in rule_ids(by_app)
    assert by_app["decision"]["required_approvals"] == []
    assert by_app["decision"]["risk"]["score"] < 30
    done = gate.wait_for(by_app["id"], "executed", reader="app")
    assert done["approvals"] == []  # no human touched it
    lifted = gate.restriction("self-1", "r-self-1")
    assert (lifted["status"], lifted["version"]) == ("lifted", 2)

    # The worker has run since the agent's request came in; it still waits for a reviewer.
    waiting = gate.request(by_agent["id"])
    assert (waiting["status"], waiting["approvals"]) == ("pending_approval", [])
    assert gate.restriction("self-2", "r-self-2")["status"] == "active"
    resp = gate.approve("fay", by_agent)
    assert resp.status_code == 201, resp.text
    gate.wait_for(by_agent["id"], "executed")
    assert gate.restriction("self-2", "r-self-2")["status"] == "lifted"


def test_totp_unbind_places_cooldowns_that_no_thaw_shortens(gate: Gate) -> None:
    body = {
        "kind": "unbind",
        "account_id": "totp-1",
        "targets": ["b-totp-1"],
        "justification": "user lost the authenticator; liveness passed",
        "evidence": [gate.evidence("KYC_LIVENESS_PASS")],
    }
    req = gate.submitted("alice", body)

    assert req["status"] == "pending_approval"
    assert "credential-unbind" in rule_ids(req)
    assert req["decision"]["required_approvals"] == [{"role": "fraud_reviewer", "count": 1}]
    assert req["plan"][0] == {"op": "remove_binding", "target": "b-totp-1", "expected_version": 1}
    cooldowns = req["plan"][1:]
    assert sorted(cooldowns, key=lambda op: op["scope"]) == [
        {"op": "place_restriction", "scope": s, "reason": "SECURITY_COOLDOWN", "duration_hours": 48}
        for s in ("p2p", "transfer", "withdraw")
    ]

    approved_at = datetime.now(UTC)
    resp = gate.approve("fay", req)
    assert resp.status_code == 201, resp.text
    gate.wait_for(req["id"], "executed")
    executed_at = datetime.now(UTC)

    account = gate.account("totp-1")
    binding = next(b for b in account["bindings"] if b["id"] == "b-totp-1")
    assert (binding["status"], binding["version"]) == ("removed", 2)
    placed = [r for r in account["restrictions"] if r["reason"] == "SECURITY_COOLDOWN"]
    assert sorted(r["scope"] for r in placed) == ["p2p", "transfer", "withdraw"]
    for r in placed:
        assert (r["status"], r["placed_by"]) == ("active", "system")
        lasts = datetime.fromisoformat(r["expires_at"]) - datetime.fromisoformat(r["placed_at"])
        assert abs(lasts - timedelta(hours=48)) < timedelta(seconds=5), r
        expires = datetime.fromisoformat(r["expires_at"])
        assert approved_at + timedelta(hours=48) <= expires <= executed_at + timedelta(hours=48)

    cooldown = placed[0]["id"]
    resp = gate.submit(
        "alice", gate.thaw("totp-1", cooldown, proof=[gate.evidence("KYC_LIVENESS_PASS")])
    )
    assert resp.status_code == 201, resp.text
    refused = resp.json()
    assert refused["status"] == "rejected"
    # A cooldown is non_liftable: customer_support sees it only as RESTRICTED (need to know).
    assert refused["restricted"] == {"reason": "RESTRICTED", "owning_teams": ["system"]}
    assert "cooldown-not-shortened" in rule_ids(gate.request(refused["id"]))  # fay: cleared
    still = gate.restriction("totp-1", cooldown)
    assert (still["status"], still["version"]) == ("active", 1)
