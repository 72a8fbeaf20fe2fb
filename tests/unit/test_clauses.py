"""How approvals fill clauses, and the separation-of-duties floor (items 1-4 and 7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import (
    HOUR,
    NOW,
    make_approval,
    make_decision,
    make_principal,
    make_request,
)

from thawgate.domain.clauses import (
    APPROVAL_TTL,
    Approval,
    check_floor,
    choose_clause,
    is_satisfied,
    live_approvals,
    open_clauses,
)
from thawgate.domain.decision import Clause
from thawgate.domain.errors import Conflict, Forbidden, SeparationOfDuties
from thawgate.domain.model import Principal
from thawgate.domain.request import Request

FRAUD = Clause("fraud_reviewer", 1)
SENIOR = Clause("senior_fraud_reviewer", 1)
LEGAL = Clause("legal_reviewer", 1)
COMPLIANCE = Clause("compliance_reviewer", 1)


def fraud_reviewer(pid: str = "fr-1", team: str = "fraud_risk") -> Principal:
    return make_principal(id=pid, team=team, roles=frozenset({"fraud_reviewer"}))


def senior(pid: str = "sfr-1", team: str = "fraud_risk") -> Principal:
    return make_principal(id=pid, team=team, roles=frozenset({"senior_fraud_reviewer"}))


def legal(pid: str = "lr-1", team: str = "legal") -> Principal:
    return make_principal(id=pid, team=team, roles=frozenset({"legal_reviewer"}))


def pending(*clauses: Clause, min_teams: int = 0, **over: object) -> Request:
    decision = make_decision(required_approvals=clauses, min_teams=min_teams)
    return make_request(status="pending_approval", decision=decision, **over)


def approve(req: Request, who: Principal, placers: frozenset[str] = frozenset()) -> Approval:
    return req.add_approval(approver=who, placers=set(placers), comment="ok", now=NOW)


# --------------------------------------------------------------------------- choosing a clause


def test_senior_fills_the_senior_clause_before_the_fraud_clause() -> None:
    req = pending(FRAUD, SENIOR)
    assert approve(req, senior()).role == "senior_fraud_reviewer"
    assert approve(req, fraud_reviewer()).role == "fraud_reviewer"
    assert req.status == "approved"


def test_senior_fills_senior_first_whatever_the_clause_order() -> None:
    role = choose_clause(approver=senior(), clauses=(SENIOR, FRAUD), min_teams=0, approvals=[])
    assert role == "senior_fraud_reviewer"
    role = choose_clause(approver=senior(), clauses=(FRAUD, SENIOR), min_teams=0, approvals=[])
    assert role == "senior_fraud_reviewer"


def test_senior_can_fill_a_fraud_reviewer_clause() -> None:
    req = pending(FRAUD)
    assert approve(req, senior()).role == "fraud_reviewer"
    assert req.status == "approved"


def test_senior_fills_fraud_clause_once_senior_clause_is_taken() -> None:
    req = pending(FRAUD, SENIOR)
    approve(req, senior("sfr-1"))
    assert approve(req, senior("sfr-2")).role == "fraud_reviewer"


def test_a_fraud_reviewer_cannot_fill_a_senior_clause() -> None:
    req = pending(SENIOR)
    with pytest.raises(Forbidden, match="senior_fraud_reviewer"):
        approve(req, fraud_reviewer())
    assert (req.status, req.approvals) == ("pending_approval", [])


@pytest.mark.parametrize(
    "roles",
    [
        frozenset({"legal_reviewer"}),
        frozenset({"compliance_reviewer"}),
        frozenset({"requester"}),
        frozenset({"auditor", "policy_admin"}),
        frozenset(),
    ],
    ids=lambda r: "+".join(sorted(r)) or "no-roles",
)
def test_roles_that_fit_no_open_clause_are_forbidden(roles: frozenset[str]) -> None:
    with pytest.raises(Forbidden):
        choose_clause(
            approver=make_principal(roles=roles),
            clauses=(FRAUD, SENIOR),
            min_teams=0,
            approvals=[],
        )


def test_a_filled_clause_is_no_longer_open() -> None:
    req = pending(FRAUD, LEGAL)
    approve(req, fraud_reviewer("fr-1"))
    with pytest.raises(Forbidden, match="legal_reviewer"):
        approve(req, fraud_reviewer("fr-2"))


def test_legal_and_compliance_fill_only_their_own_clauses() -> None:
    req = pending(LEGAL, COMPLIANCE, FRAUD)
    assert approve(req, legal()).role == "legal_reviewer"
    compliance = make_principal(
        id="cr-1", team="compliance", roles=frozenset({"compliance_reviewer"})
    )
    assert approve(req, compliance).role == "compliance_reviewer"
    assert approve(req, fraud_reviewer()).role == "fraud_reviewer"
    assert req.status == "approved"


def test_open_clauses_counts_remaining_slots() -> None:
    clauses = (Clause("fraud_reviewer", 2), SENIOR)
    approvals = [make_approval(role="fraud_reviewer")]
    assert open_clauses(clauses, approvals) == {"fraud_reviewer": 1, "senior_fraud_reviewer": 1}


# --------------------------------------------------------------------------- the floor


def test_requester_never_approves_their_own_request() -> None:
    req = pending(FRAUD, requester="fr-1")
    with pytest.raises(SeparationOfDuties) as err:
        approve(req, fraud_reviewer("fr-1"))
    assert err.value.floor_item == 1
    assert req.approvals == []


def test_placer_never_approves_the_lift() -> None:
    req = pending(FRAUD)
    with pytest.raises(SeparationOfDuties) as err:
        approve(req, fraud_reviewer("fr-1"), placers=frozenset({"sec-1", "fr-1"}))
    assert err.value.floor_item == 2


def test_one_person_fills_at_most_one_clause() -> None:
    req = pending(Clause("fraud_reviewer", 2))
    approve(req, fraud_reviewer("fr-1"))
    with pytest.raises(SeparationOfDuties) as err:
        approve(req, fraud_reviewer("fr-1"))
    assert err.value.floor_item == 3
    assert len(req.approvals) == 1


def test_a_senior_cannot_fill_both_senior_and_fraud_clauses() -> None:
    req = pending(FRAUD, SENIOR)
    approve(req, senior("sfr-1"))
    with pytest.raises(SeparationOfDuties) as err:
        approve(req, senior("sfr-1"))
    assert err.value.floor_item == 3


def test_floor_items_are_checked_before_clauses() -> None:
    """A requester with no fitting role still hears about the floor, not the clauses."""
    with pytest.raises(SeparationOfDuties) as err:
        check_floor(
            approver=make_principal(id="cs-1", roles=frozenset({"requester"})),
            requester="cs-1",
            placers=set(),
            approvals=[],
        )
    assert err.value.floor_item == 1


def test_two_approvers_from_one_team_on_a_two_team_request() -> None:
    req = pending(LEGAL, SENIOR, min_teams=2)
    approve(req, legal("lr-1", team="legal"))
    legal_senior = senior("sfr-9", team="legal")
    with pytest.raises(SeparationOfDuties) as err:
        approve(req, legal_senior)
    assert err.value.floor_item == 4
    assert req.status == "pending_approval"
    approve(req, senior("sfr-1", team="fraud_risk"))
    assert req.status == "approved"


def test_distinct_teams_leave_room_while_slots_remain() -> None:
    """With three slots and min_teams 2, two approvals from one team are still fine."""
    req = pending(Clause("fraud_reviewer", 3), min_teams=2)
    approve(req, fraud_reviewer("fr-1"))
    approve(req, fraud_reviewer("fr-2"))
    with pytest.raises(SeparationOfDuties) as err:
        approve(req, fraud_reviewer("fr-3"))
    assert err.value.floor_item == 4
    approve(req, fraud_reviewer("fr-4", team="security"))
    assert req.status == "approved"


# --------------------------------------------------------------------------- being satisfied


def test_approved_when_all_clauses_filled_and_teams_met() -> None:
    req = pending(LEGAL, SENIOR, min_teams=2)
    approve(req, legal())
    assert (req.status, req.is_fully_approved) == ("pending_approval", False)
    approve(req, senior())
    assert (req.status, req.is_fully_approved) == ("approved", True)


def test_not_satisfied_when_teams_are_short() -> None:
    approvals = [
        make_approval(principal="a", role="legal_reviewer", team="legal"),
        make_approval(principal="b", role="senior_fraud_reviewer", team="legal"),
    ]
    assert not is_satisfied((LEGAL, SENIOR), 2, approvals)
    assert is_satisfied((LEGAL, SENIOR), 1, approvals)


def test_not_satisfied_while_a_clause_is_open() -> None:
    approvals = [make_approval(role="fraud_reviewer")]
    assert not is_satisfied((FRAUD, SENIOR), 0, approvals)
    assert is_satisfied((FRAUD,), 0, approvals)


def test_approving_an_approved_request_is_a_conflict() -> None:
    req = pending(FRAUD)
    approve(req, fraud_reviewer("fr-1"))
    with pytest.raises(Conflict):
        approve(req, fraud_reviewer("fr-2"))


# --------------------------------------------------------------------------- item 7: 24 h


def test_live_approvals_drops_those_24h_old() -> None:
    fresh = make_approval(principal="a", at=NOW - APPROVAL_TTL + timedelta(seconds=1))
    expired = make_approval(principal="b", at=NOW - APPROVAL_TTL)
    older = make_approval(principal="c", at=NOW - 3 * APPROVAL_TTL)
    assert live_approvals([fresh, expired, older], NOW) == [fresh]
    assert APPROVAL_TTL == 24 * HOUR


def test_an_expired_approval_does_not_fill_its_clause() -> None:
    old = make_approval(principal="sfr-1", role="senior_fraud_reviewer", at=NOW - 25 * HOUR)
    req = pending(FRAUD, SENIOR, approvals=[old])
    approve(req, fraud_reviewer("fr-1"))
    assert req.status == "pending_approval"
    assert [a.principal for a in req.approvals] == ["fr-1"]
    assert open_clauses(req.decision.required_approvals, req.approvals) == {
        "senior_fraud_reviewer": 1
    }


def test_an_expired_approval_frees_its_author_to_approve_again() -> None:
    old = make_approval(principal="fr-1", at=NOW - 25 * HOUR)
    req = pending(FRAUD, approvals=[old])
    approve(req, fraud_reviewer("fr-1"))
    assert req.status == "approved"
    assert [a.at for a in req.approvals] == [NOW]
