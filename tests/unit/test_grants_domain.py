"""The pure grant rules and need-to-know redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.unit.factories import make_approval, make_principal

from thawgate.domain.errors import Conflict, SeparationOfDuties, ValidationFailed
from thawgate.domain.grants import Grant, check_grantable, effective_roles, unbacked_approvals
from thawgate.domain.need_to_know import REDACTED_REASON, shown_reason

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _grant(**over: object) -> Grant:
    values: dict[str, object] = {
        "id": "g-1",
        "principal_id": "newbie",
        "role": "fraud_reviewer",
        "justification": "cover",
        "expires_at": NOW + timedelta(days=30),
        "proposed_by": "ada",
        "proposed_at": NOW,
    }
    values.update(over)
    return Grant(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("approver", ["ada", "newbie"])
def test_neither_proposer_nor_grantee_approves(approver: str) -> None:
    with pytest.raises(SeparationOfDuties):
        _grant().approve(by=approver, at=NOW)


def test_second_key_activates_and_expiry_ends_it() -> None:
    g = _grant()
    g.approve(by="abe", at=NOW)
    assert effective_roles(frozenset({"requester"}), [g], NOW) == {"requester", "fraud_reviewer"}
    assert effective_roles(frozenset(), [g], NOW + timedelta(days=30)) == frozenset()
    g.expire(NOW + timedelta(days=30))
    assert g.status == "expired"
    with pytest.raises(Conflict):
        g.approve(by="abe", at=NOW)


@pytest.mark.parametrize(
    ("role", "days"), [("system", 1), ("self_service", 1), ("access_admin", 91), ("auditor", 366)]
)
def test_limits(role: str, days: int) -> None:
    with pytest.raises(ValidationFailed):
        check_grantable(role=role, expires_at=NOW + timedelta(days=days), now=NOW)


def test_an_approval_without_a_fitting_role_is_unbacked() -> None:
    a = make_approval(principal="fr-1", role="fraud_reviewer")
    holder = make_principal(id="fr-1", roles=frozenset({"fraud_reviewer"}))
    assert unbacked_approvals([a], {"fr-1": holder}) == []
    lost = make_principal(id="fr-1", roles=frozenset({"requester"}))
    assert unbacked_approvals([a], {"fr-1": lost}) == [a]
    assert unbacked_approvals([a], {}) == [a]


@pytest.mark.parametrize("reason", ["LAW_ENFORCEMENT", "AML_REVIEW", "SANCTIONS_HIT"])
def test_sensitive_reasons_are_redacted_outside_cleared_teams(reason: str) -> None:
    support = make_principal(team="customer_support", roles=frozenset({"requester"}))
    shown = shown_reason(support, reason=reason, note="case 42")
    assert (shown.reason, shown.note) == (REDACTED_REASON, None)
    assert shown.owning_team in {"legal", "compliance"}
    legal = make_principal(team="legal", roles=frozenset({"legal_reviewer"}))
    assert shown_reason(legal, reason=reason, note="case 42").reason == reason
    auditor = make_principal(team="security", roles=frozenset({"auditor"}))
    assert shown_reason(auditor, reason=reason, note="n").note == "n"


def test_standard_reasons_are_shown_to_everyone() -> None:
    support = make_principal(team="customer_support", roles=frozenset({"requester"}))
    assert shown_reason(support, reason="ATO_SUSPECTED", note="n").reason == "ATO_SUSPECTED"
