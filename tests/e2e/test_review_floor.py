"""The separation-of-duties floor, racing approvals, and approvals bound to the reviewed state."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from .conftest import Gate

pytestmark = pytest.mark.e2e


def test_requester_never_approves_their_own_request(gate: Gate) -> None:
    body = gate.thaw("selfappr-1", "r-selfappr-1", proof=[gate.evidence("KYC_LIVENESS_PASS")])
    req = gate.submitted("rita", body)  # rita holds requester and fraud_reviewer
    assert req["status"] == "pending_approval"
    assert req["decision"]["required_approvals"] == [{"role": "fraud_reviewer", "count": 1}]

    problem = gate.problem(gate.approve("rita", req), 403, "separation-of-duties")

    assert "requester" in problem["detail"]
    after = gate.request(req["id"])
    assert (after["status"], after["approvals"]) == ("pending_approval", [])
    assert gate.restriction("selfappr-1", "r-selfappr-1")["status"] == "active"


def test_the_restrictions_placer_never_approves_its_lift(gate: Gate) -> None:
    resp = gate("pete").post(
        "/v1/accounts/placer-1/restrictions",
        json={"scope": "withdraw", "reason": "ATO_SUSPECTED", "note": "odd login pattern"},
    )
    assert resp.status_code == 201, resp.text
    placed = resp.json()
    assert (placed["placed_by"], placed["status"], placed["version"]) == ("pete", "active", 1)

    # The evidence is observed after the restriction was placed, so it counts.
    proof = [gate.evidence("KYC_LIVENESS_PASS", ago=timedelta(0))]
    req = gate.submitted("alice", gate.thaw("placer-1", placed["id"], proof=proof))
    assert req["status"] == "pending_approval", req
    assert {"ato-thaw", "fresh-freeze"} <= {r["id"] for r in req["decision"]["rules"]}

    problem = gate.problem(gate.approve("pete", req), 403, "separation-of-duties")

    assert "placed" in problem["detail"]
    after = gate.request(req["id"])
    assert (after["status"], after["approvals"]) == ("pending_approval", [])
    assert gate.restriction("placer-1", placed["id"])["status"] == "active"


@pytest.mark.parametrize("n", [1, 2, 3])
def test_racing_approvals_lift_exactly_once(gate: Gate, n: int) -> None:
    account, target = f"race-{n}", f"r-race-{n}"
    before = gate.restriction(account, target)
    body = gate.thaw(account, target, proof=[gate.evidence("KYC_LIVENESS_PASS")])
    req = gate.submitted("alice", body)
    assert req["decision"]["required_approvals"] == [{"role": "fraud_reviewer", "count": 1}]
    reviewers = ("fay", "finn")
    for who in reviewers:
        gate(who)  # open both clients before the race
    start = threading.Barrier(len(reviewers))
    results: dict[str, httpx.Response] = {}

    def approve(who: str) -> None:
        start.wait(timeout=10)
        results[who] = gate.approve(who, req)

    threads = [threading.Thread(target=approve, args=(who,)) for who in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(r.status_code for r in results.values()) == [201, 409], {
        k: v.text for k, v in results.items()
    }
    winner = next(who for who, r in results.items() if r.status_code == 201)
    loser = next(who for who, r in results.items() if r.status_code != 201)
    assert results[winner].json()["status"] == "approved"
    gate.problem(results[loser], 409, "conflict")
    done = gate.wait_for(req["id"], "executed")
    assert [a["principal"] for a in done["approvals"]] == [winner]
    after = gate.restriction(account, target)
    assert (after["status"], after["version"]) == ("lifted", before["version"] + 1)


def test_an_amended_restriction_makes_the_old_digest_stale(gate: Gate) -> None:
    req = gate.submitted(
        "alice", gate.thaw("stale-1", "r-stale-1", proof=[gate.evidence("KYC_LIVENESS_PASS")])
    )
    assert req["status"] == "pending_approval"
    reviewed = req["state_digest"]

    resp = gate("pete").patch(
        "/v1/accounts/stale-1/restrictions/r-stale-1", json={"reason": "LAW_ENFORCEMENT"}
    )
    assert resp.status_code == 200, resp.text
    # need to know: the security placer sees a legal hold only as RESTRICTED, owned by legal
    amended = resp.json()
    assert (amended["reason"], amended["owning_team"], amended["version"]) == (
        "RESTRICTED",
        "legal",
        2,
    )
    assert gate.restriction("stale-1", "r-stale-1")["reason"] == "LAW_ENFORCEMENT"  # fay: cleared

    gate.problem(gate.approve("fay", req, digest=reviewed), 409, "stale")

    # Re-decided on the legal hold, which needs a release order this request lacks: it ends.
    after = gate.request(req["id"])
    assert after["status"] == "rejected", after
    assert after["approvals"] == []
    assert after["state_digest"] != reviewed
    assert "legal-hold" in {r["id"] for r in after["decision"]["rules"]}
    assert "LE_RELEASE_ORDER" in after["decision"]["missing_evidence"]
    r = gate.restriction("stale-1", "r-stale-1")
    assert (r["status"], r["reason"], r["version"]) == ("active", "LAW_ENFORCEMENT", 2)

    # Lowering the class is a thaw, not an amendment.
    lower = gate("pete").patch(
        "/v1/accounts/stale-1/restrictions/r-stale-1", json={"reason": "ATO_SUSPECTED"}
    )
    problem = gate.problem(lower, 422, "validation")
    assert "reason" in problem["detail"]
    r = gate.restriction("stale-1", "r-stale-1")
    assert (r["reason"], r["version"]) == ("LAW_ENFORCEMENT", 2)


def test_a_stale_approval_clears_the_earlier_ones(gate: Gate) -> None:
    order = gate.evidence("LE_RELEASE_ORDER", ago=timedelta(days=1))
    req = gate.submitted("lena", gate.thaw("stale-2", "r-stale-2", proof=[order]))
    first = gate.approve("leo", req)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "pending_approval"
    reviewed = req["state_digest"]

    widen = gate("pete").patch(
        "/v1/accounts/stale-2/restrictions/r-stale-2", json={"scope": "full"}
    )
    assert widen.status_code == 200, widen.text
    assert (widen.json()["scope"], widen.json()["version"]) == ("full", 2)

    gate.problem(gate.approve("sam", req, digest=reviewed), 409, "stale")

    moved = gate.request(req["id"])
    assert moved["status"] == "pending_approval"
    assert moved["approvals"] == []
    assert moved["stale_count"] == 1
    assert moved["state_digest"] != reviewed
    assert moved["plan"] == [
        {"op": "lift_restriction", "target": "r-stale-2", "expected_version": 2}
    ]
    # The old digest stays stale; narrowing the scope back is refused.
    gate.problem(gate.approve("sam", req, digest=reviewed), 409, "stale")
    narrow = gate("pete").patch(
        "/v1/accounts/stale-2/restrictions/r-stale-2", json={"scope": "withdraw"}
    )
    assert "scope" in gate.problem(narrow, 422, "validation")["detail"]

    for who in ("leo", "sam"):
        resp = gate.approve(who, moved)
        assert resp.status_code == 201, resp.text
    gate.wait_for(req["id"], "executed")
    r = gate.restriction("stale-2", "r-stale-2")
    assert (r["status"], r["version"]) == ("lifted", 3)


def _roles(request: dict[str, Any]) -> set[str]:
    return {c["role"] for c in request["decision"]["required_approvals"]}


def test_an_amendment_the_requester_may_not_thaw_ends_the_request(gate: Gate) -> None:
    """POLICY.md floor item 6: if the re-evaluation refuses, the request ends `rejected`.

    A customer-support agent may not ask to lift a legal hold (the authority matrix). When the
    restriction under their pending request is raised to LAW_ENFORCEMENT, the request must not
    stay alive for legal reviewers to approve, even though it happens to carry a release order.
    """
    proof = [
        gate.evidence("KYC_LIVENESS_PASS"),
        gate.evidence("LE_RELEASE_ORDER", ago=timedelta(hours=2)),
    ]
    req = gate.submitted("alice", gate.thaw("stale-3", "r-stale-3", proof=proof))
    assert req["status"] == "pending_approval"
    assert _roles(req) == {"fraud_reviewer"}
    raise_it = gate("pete").patch(
        "/v1/accounts/stale-3/restrictions/r-stale-3", json={"reason": "LAW_ENFORCEMENT"}
    )
    assert raise_it.status_code == 200, raise_it.text

    gate.problem(gate.approve("fay", req), 409, "stale")

    after = gate.request(req["id"])
    assert after["status"] == "rejected", after
    assert after["approvals"] == []
    assert gate.restriction("stale-3", "r-stale-3")["status"] == "active"
