"""The request state machine, generated from TRANSITIONS: a new edge is tested by construction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from factories import (
    HOUR,
    NOW,
    make_approval,
    make_decision,
    make_evidence,
    make_principal,
    make_request,
)

from thawgate.domain.decision import Clause, RuleHit
from thawgate.domain.errors import Conflict
from thawgate.domain.request import OPEN_STATUSES, TERMINAL_STATUSES, TRANSITIONS, Request

LATER = NOW + HOUR
STATUSES = sorted(
    {s for edges in TRANSITIONS.values() for s in edges}
    | {s for edges in TRANSITIONS.values() for s in edges.values()}
)


def _settle(outcome: str) -> Callable[[Request], None]:
    def act(req: Request) -> None:
        req.decision = replace(req.decision, outcome=outcome)  # type: ignore[arg-type]
        req.settle_decision(LATER)

    return act


def _approve(clause_count: int) -> Callable[[Request], None]:
    """One approval; with two slots open it stays pending (`approve`), with one it completes."""

    def act(req: Request) -> None:
        req.decision = replace(
            req.decision, required_approvals=(Clause("fraud_reviewer", clause_count),)
        )
        req.add_approval(approver=make_principal(), placers=set(), comment="ok", now=LATER)

    return act


def _go_stale(req: Request) -> None:
    req.go_stale(decision=make_decision(min_teams=2), digest="new-digest", now=LATER, why="moved")


def _void_approvals(req: Request) -> None:
    req.approvals = [make_approval(principal="revoked-1")]  # set up: one approval to void
    try:
        req.void_approvals(principals={"revoked-1"}, now=LATER, why="grant revoked")
    except Conflict:
        req.approvals = []  # undo the set-up, so the test sees the refused call alone
        raise


# One way to drive each verb of TRANSITIONS through the public methods.
ACTIONS: dict[str, Callable[[Request], None]] = {
    "decide_review": _settle("review"),
    "decide_approve": _settle("approve"),
    "decide_reject": _settle("reject"),
    "approve": _approve(2),
    "complete": _approve(1),
    "reject": lambda r: r.reject(LATER, "no"),
    "question": lambda r: r.question(LATER, "which device?"),
    "answer": lambda r: r.answer(now=LATER, evidence=[]),
    "withdraw": lambda r: r.withdraw(LATER),
    "expire": lambda r: r.expire(LATER),
    "go_stale": _go_stale,
    "void_approvals": _void_approvals,
    "execute": lambda r: r.mark_executed(LATER),
    "fail": lambda r: r.mark_failed(LATER, "downstream timeout"),
    "retry": lambda r: r.retry(LATER),
    "revert": lambda r: r.revert(LATER, "re-freeze: the user reported fraud"),
}

ALLOWED = [
    pytest.param(verb, src, dst, id=f"{verb}:{src}->{dst}")
    for verb, edges in TRANSITIONS.items()
    for src, dst in edges.items()
]
FORBIDDEN = [
    pytest.param(verb, status, id=f"{verb}:{status}")
    for verb, edges in TRANSITIONS.items()
    for status in STATUSES
    if status not in edges
]


def test_every_verb_has_an_action() -> None:
    assert set(ACTIONS) == set(TRANSITIONS)


def test_statuses_are_new_failed_open_or_terminal() -> None:
    assert set(STATUSES) == {"new", "failed"} | OPEN_STATUSES | TERMINAL_STATUSES
    assert not OPEN_STATUSES & TERMINAL_STATUSES


def test_the_only_way_out_of_a_terminal_status_is_reverting_an_executed_request() -> None:
    exits = {
        (verb, src)
        for verb, edges in TRANSITIONS.items()
        for src in edges
        if src in TERMINAL_STATUSES
    }
    assert exits == {("revert", "executed")}


@pytest.mark.parametrize(("verb", "src", "dst"), ALLOWED)
def test_allowed_transition(verb: str, src: str, dst: str) -> None:
    req = make_request(status=src)
    ACTIONS[verb](req)
    assert req.status == dst
    assert req.updated_at == LATER


@pytest.mark.parametrize(("verb", "status"), FORBIDDEN)
def test_forbidden_transition_raises_conflict(verb: str, status: str) -> None:
    req = make_request(status=status, status_reason="before")
    with pytest.raises(Conflict):
        ACTIONS[verb](req)
    assert req.status == status
    assert req.status_reason == "before"
    assert req.updated_at is None
    assert req.approvals == []


def test_is_open_follows_status() -> None:
    for status in STATUSES:
        assert make_request(status=status).is_open is (status in OPEN_STATUSES)


# --------------------------------------------------------------------------- what each verb records


def test_settle_reject_names_the_rejecting_rule() -> None:
    hit = RuleHit("extreme-risk", "reject", "risk is extreme; open a fraud case instead")
    req = make_request(decision=make_decision(outcome="reject", rules=(hit,)))
    req.settle_decision(NOW)
    assert req.status == "rejected"
    assert req.status_reason == "extreme-risk: risk is extreme; open a fraud case instead"


def test_settle_reject_without_a_rule_still_says_why() -> None:
    req = make_request(decision=make_decision(outcome="reject", rules=()))
    req.settle_decision(NOW)
    assert req.status_reason == "rejected by policy"


def test_settle_review_keeps_no_reason() -> None:
    req = make_request()
    req.settle_decision(NOW)
    assert (req.status, req.status_reason) == ("pending_approval", None)


def test_go_stale_clears_approvals_and_rebinds() -> None:
    req = make_request(status="approved", approvals=[make_approval()])
    new = make_decision(min_teams=2)
    req.go_stale(decision=new, digest="d2", now=LATER, why="target version changed")
    assert req.status == "pending_approval"
    assert req.approvals == []
    assert req.decision is new
    assert req.state_digest == "d2"
    assert req.stale_count == 1
    assert req.status_reason == "target version changed"


def test_answer_adds_evidence_and_clears_approvals() -> None:
    old = make_evidence(reference="old")
    new = make_evidence(reference="new", observed_at=LATER)
    req = make_request(status="needs_info", evidence=[old], approvals=[make_approval()])
    req.answer(now=LATER, evidence=[new])
    assert req.status == "pending_approval"
    assert req.evidence == [old, new]
    assert req.evidence_as_of == LATER
    assert req.approvals == []


def test_redecide_keeps_status_and_approvals() -> None:
    approval = make_approval()
    req = make_request(status="pending_approval", approvals=[approval])
    new = make_decision()
    req.redecide(decision=new, digest="same")
    assert (req.status, req.approvals, req.state_digest) == ("pending_approval", [approval], "same")


def test_approval_records_clause_team_and_digest() -> None:
    req = make_request(status="pending_approval")
    approval = req.add_approval(
        approver=make_principal(), placers=set(), comment="verified", now=LATER
    )
    assert approval.principal == "fr-1"
    assert approval.role == "fraud_reviewer"
    assert approval.team == "fraud_risk"
    assert approval.at == LATER
    assert approval.state_digest == req.state_digest
    assert req.approvals == [approval]
    assert req.status == "approved"
