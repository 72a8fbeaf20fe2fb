"""Break-glass rules (floor item 10), pure."""

from __future__ import annotations

import pytest
from factories import NOW, make_approval, make_decision, make_principal, make_request

from thawgate.domain.break_glass import (
    BreakGlass,
    break_glass_clause,
    check_daily_limit,
    check_justification,
    check_targets,
)
from thawgate.domain.clauses import is_satisfied, team_count
from thawgate.domain.decision import Clause
from thawgate.domain.errors import Conflict, Forbidden, SeparationOfDuties, ValidationFailed

SENIOR = make_principal(id="sr-1", roles=frozenset({"senior_fraud_reviewer"}))


def test_it_fills_the_most_specific_open_fraud_clause_only() -> None:
    both = (Clause("fraud_reviewer", 1), Clause("senior_fraud_reviewer", 1))
    assert break_glass_clause(approver=SENIOR, clauses=both, approvals=[]) == (
        "senior_fraud_reviewer"
    )
    filled = [make_approval(principal="x", role="senior_fraud_reviewer")]
    assert break_glass_clause(approver=SENIOR, clauses=both, approvals=filled) == "fraud_reviewer"
    with pytest.raises(Forbidden, match="missing fraud clause"):
        break_glass_clause(approver=SENIOR, clauses=(Clause("legal_reviewer", 1),), approvals=[])
    with pytest.raises(Forbidden, match="senior"):
        break_glass_clause(approver=make_principal(), clauses=both, approvals=[])


@pytest.mark.parametrize("cls", ["regulatory", "legal_hold", "non_liftable"])
def test_it_never_touches_protected_classes(cls: str) -> None:
    with pytest.raises(SeparationOfDuties) as exc:
        check_targets(["standard", cls])
    assert exc.value.floor_item == 10
    check_targets(["standard"])


def test_justification_and_daily_limit() -> None:
    with pytest.raises(ValidationFailed):
        check_justification("   urgent   ")
    assert check_justification("  an outage with the customer on the line  ").startswith("an")
    check_daily_limit(1, 2)
    with pytest.raises(Forbidden, match="limit"):
        check_daily_limit(2, 2)
    with pytest.raises(Forbidden):
        check_daily_limit(0, 0)  # 0 turns it off


def test_a_break_glass_approval_stands_in_for_a_team() -> None:
    clauses = (Clause("fraud_reviewer", 2),)
    same_team = [make_approval(principal="a"), make_approval(principal="b")]
    assert team_count(same_team) == 1
    assert not is_satisfied(clauses, 2, same_team)
    glass = [make_approval(principal="a"), make_approval(principal="b", break_glass=True)]
    assert team_count(glass) == 2
    assert is_satisfied(clauses, 2, glass)


def test_the_request_keeps_items_1_to_3() -> None:
    request = make_request(
        decision=make_decision(required_approvals=(Clause("fraud_reviewer", 2),), min_teams=2),
        status="pending_approval",
        approvals=[make_approval(principal="sr-1")],
    )
    with pytest.raises(SeparationOfDuties) as exc:
        request.add_break_glass_approval(approver=SENIOR, placers=set(), comment="x", now=NOW)
    assert exc.value.floor_item == 3
    other = make_principal(id="sr-2", roles=frozenset({"senior_fraud_reviewer"}))
    with pytest.raises(SeparationOfDuties) as placer:
        request.add_break_glass_approval(approver=other, placers={"sr-2"}, comment="x", now=NOW)
    assert placer.value.floor_item == 2
    approval = request.add_break_glass_approval(approver=other, placers=set(), comment="x", now=NOW)
    assert approval.break_glass
    assert approval.as_dict()["break_glass"] is True
    assert request.status == "approved"


def test_the_review_is_never_by_the_one_who_broke_glass() -> None:
    record = BreakGlass("bg-1", "req-1", "sr-1", "fraud_risk", "fraud_reviewer", "why", NOW, "al")
    with pytest.raises(SeparationOfDuties):
        record.review(by=SENIOR, verdict="upheld", comment="mine", at=NOW)
    with pytest.raises(ValidationFailed):
        record.review(by=make_principal(id="sr-2"), verdict="fine", comment="?", at=NOW)
    record.review(by=make_principal(id="sr-2"), verdict="upheld", comment="ok", at=NOW)
    assert (record.review_status, record.reviewed_by) == ("done", "sr-2")
    with pytest.raises(Conflict):
        record.review(by=make_principal(id="sr-3"), verdict="upheld", comment="ok", at=NOW)
