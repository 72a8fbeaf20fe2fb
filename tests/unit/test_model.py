"""Restrictions (amend: raise-only, widen-only; lift; expire) and bindings (remove)."""

from __future__ import annotations

import pytest
from factories import HOUR, NOW, make_binding, make_restriction

from thawgate.domain.catalog import ReasonClass
from thawgate.domain.errors import Conflict, ValidationFailed
from thawgate.domain.model import Restriction


def amend(
    restriction: Restriction,
    *,
    by: str = "sec-2",
    reason: str | None = None,
    scope: str | None = None,
    note: str | None = None,
) -> list[str]:
    return restriction.amend(by=by, reason=reason, scope=scope, note=note)


def test_placer_is_a_placer() -> None:
    r = make_restriction(placed_by="sec-1")
    assert r.placers == ["sec-1"]


# --------------------------------------------------------------------------- amend: reason


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("ATO_SUSPECTED", "AML_REVIEW"),  # standard -> regulatory
        ("KYC_INCOMPLETE", "COURT_ORDER"),  # regulatory -> legal_hold
        ("LAW_ENFORCEMENT", "SANCTIONS_HIT"),  # legal_hold -> non_liftable
        ("ATO_SUSPECTED", "RISK_RULE_HIT"),  # standard -> standard: keeps the class
    ],
)
def test_raising_or_keeping_the_class_is_ok(old: str, new: str) -> None:
    r = make_restriction(reason=old)
    assert amend(r, reason=new) == ["reason"]
    assert r.reason == new
    assert r.version == 2
    assert r.placers == ["sec-1", "sec-2"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("AML_REVIEW", "ATO_SUSPECTED"),
        ("COURT_ORDER", "KYC_INCOMPLETE"),
        ("SANCTIONS_HIT", "LAW_ENFORCEMENT"),
        ("LAW_ENFORCEMENT", "USER_SELF_FREEZE"),
    ],
)
def test_lowering_the_class_is_refused(old: str, new: str) -> None:
    r = make_restriction(reason=old)
    with pytest.raises(ValidationFailed) as err:
        amend(r, reason=new)
    assert err.value.field == "reason"
    assert (r.reason, r.version, r.placers) == (old, 1, ["sec-1"])


def test_reason_class_is_ordered() -> None:
    assert ReasonClass.STANDARD < ReasonClass.REGULATORY < ReasonClass.LEGAL_HOLD
    assert ReasonClass.LEGAL_HOLD < ReasonClass.NON_LIFTABLE
    assert make_restriction(reason="COURT_ORDER").reason_class is ReasonClass.LEGAL_HOLD


# --------------------------------------------------------------------------- amend: scope


@pytest.mark.parametrize("old", ["login", "trade", "withdraw", "p2p", "api"])
def test_widening_to_full_is_ok(old: str) -> None:
    r = make_restriction(scope=old)
    assert amend(r, scope="full") == ["scope"]
    assert (r.scope, r.version) == ("full", 2)
    assert "sec-2" in r.placers


@pytest.mark.parametrize(
    ("old", "new"),
    [("full", "withdraw"), ("full", "login"), ("withdraw", "trade"), ("trade", "deposit")],
)
def test_narrowing_or_moving_the_scope_is_refused(old: str, new: str) -> None:
    r = make_restriction(scope=old)
    with pytest.raises(ValidationFailed) as err:
        amend(r, scope=new)
    assert err.value.field == "scope"
    assert (r.scope, r.version) == (old, 1)


# --------------------------------------------------------------------------- amend: the rest


def test_note_change_bumps_the_version() -> None:
    r = make_restriction()
    assert amend(r, note="customer called") == ["note"]
    assert r.version == 2


def test_several_changes_bump_the_version_once() -> None:
    r = make_restriction(reason="ATO_SUSPECTED", scope="withdraw")
    assert amend(r, reason="AML_REVIEW", scope="full", note="escalated") == [
        "reason",
        "scope",
        "note",
    ]
    assert r.version == 2


def test_a_no_op_amendment_changes_nothing() -> None:
    r = make_restriction(reason="ATO_SUSPECTED", scope="withdraw", note="n")
    assert amend(r, reason="ATO_SUSPECTED", scope="withdraw", note="n") == []
    assert amend(r) == []
    assert (r.version, r.placers) == (1, ["sec-1"])


def test_an_amender_is_listed_once() -> None:
    r = make_restriction(reason="ATO_SUSPECTED")
    amend(r, by="sec-2", note="one")
    amend(r, by="sec-2", note="two")
    amend(r, by="sec-1", note="three")
    assert r.placers == ["sec-1", "sec-2"]
    assert r.version == 4


def test_a_refused_amendment_changes_nothing() -> None:
    r = make_restriction(reason="ATO_SUSPECTED", scope="full")
    with pytest.raises(ValidationFailed):
        amend(r, reason="AML_REVIEW", scope="withdraw")
    assert (r.reason, r.scope, r.version) == ("ATO_SUSPECTED", "full", 1)


@pytest.mark.parametrize("status", ["lifted", "expired"])
def test_amending_an_inactive_restriction_is_a_conflict(status: str) -> None:
    r = make_restriction(status=status)
    with pytest.raises(Conflict):
        amend(r, scope="full")
    assert r.version == 1


# --------------------------------------------------------------------------- lift and expire


def test_lift() -> None:
    r = make_restriction()
    r.lift()
    assert (r.status, r.version, r.is_active) == ("lifted", 2, False)
    with pytest.raises(Conflict):
        r.lift()
    assert r.version == 2


@pytest.mark.parametrize("reason", ["SANCTIONS_HIT", "SECURITY_COOLDOWN"])
def test_non_liftable_never_lifts(reason: str) -> None:
    r = make_restriction(reason=reason)
    with pytest.raises(Conflict, match="non-liftable"):
        r.lift()
    assert (r.status, r.version) == ("active", 1)


@pytest.mark.parametrize("reason", ["LAW_ENFORCEMENT", "AML_REVIEW", "ATO_SUSPECTED"])
def test_liftable_classes_lift(reason: str) -> None:
    r = make_restriction(reason=reason)
    r.lift()
    assert r.status == "lifted"


def test_expire_when_due() -> None:
    r = make_restriction(reason="SECURITY_COOLDOWN", expires_at=NOW)
    r.expire(NOW)
    assert (r.status, r.version) == ("expired", 2)
    with pytest.raises(Conflict):
        r.expire(NOW + HOUR)


def test_expire_before_due_is_a_conflict() -> None:
    r = make_restriction(expires_at=NOW + HOUR)
    with pytest.raises(Conflict):
        r.expire(NOW)
    assert r.status == "active"


def test_a_restriction_without_expiry_never_expires() -> None:
    with pytest.raises(Conflict):
        make_restriction(expires_at=None).expire(NOW)


def test_a_lifted_restriction_does_not_expire() -> None:
    r = make_restriction(status="lifted", expires_at=NOW - HOUR)
    with pytest.raises(Conflict):
        r.expire(NOW)


# --------------------------------------------------------------------------- bindings


def test_binding_remove() -> None:
    b = make_binding()
    b.remove()
    assert (b.status, b.version, b.is_active) == ("removed", 2, False)
    with pytest.raises(Conflict):
        b.remove()
    assert b.version == 2
