"""Plain factory functions for the domain's unit tests. Each takes keyword overrides.

No database and no I/O, except that the shipped request policy pack is read once and cached.
"""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from thawgate.domain.catalog import EvidenceType
from thawgate.domain.clauses import Approval
from thawgate.domain.decision import (
    Clause,
    Decision,
    EvidenceRequirement,
    PlanOp,
    RiskScore,
    TargetState,
    state_digest,
)
from thawgate.domain.model import AccountEvent, Binding, Principal, Restriction
from thawgate.domain.request import Evidence, Request
from thawgate.domain.risk import RiskFacts
from thawgate.policy.request_policy import DecisionFacts, RequestPolicy

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

POLICY_PATH = (
    pathlib.Path(__file__).resolve().parents[2] / "policies" / "default" / "request_policy.yaml"
)


@cache
def default_policy_text() -> str:
    return POLICY_PATH.read_text(encoding="utf-8")


@cache
def default_policy() -> RequestPolicy:
    return RequestPolicy.load(default_policy_text())


def _build(cls: Any, defaults: dict[str, Any], over: dict[str, Any]) -> Any:
    """The dataclass itself refuses an unknown override with a TypeError."""
    return cls(**{**defaults, **over})


# --------------------------------------------------------------------------- people and things


def make_principal(**over: Any) -> Principal:
    defaults: dict[str, Any] = {
        "id": "fr-1",
        "name": "Fiona Reviewer",
        "team": "fraud_risk",
        "roles": frozenset({"fraud_reviewer"}),
        "active": True,
    }
    return _build(Principal, defaults, over)  # type: ignore[no-any-return]


def make_requester(**over: Any) -> Principal:
    defaults: dict[str, Any] = {
        "id": "cs-1",
        "name": "Casey Support",
        "team": "customer_support",
        "roles": frozenset({"requester"}),
    }
    return make_principal(**{**defaults, **over})


def make_restriction(**over: Any) -> Restriction:
    defaults: dict[str, Any] = {
        "id": "rst-1",
        "account_id": "acct-1",
        "scope": "withdraw",
        "reason": "ATO_SUSPECTED",
        "placed_by": "sec-1",
        "placed_at": NOW - 3 * DAY,
        "status": "active",
        "expires_at": None,
        "note": None,
        "version": 1,
        "placers": [],
    }
    merged = {**defaults, **over}
    merged["placers"] = list(merged["placers"])  # never share a caller's list
    return _build(Restriction, merged, {})  # type: ignore[no-any-return]


def make_binding(**over: Any) -> Binding:
    defaults: dict[str, Any] = {
        "id": "bnd-1",
        "account_id": "acct-1",
        "type": "DEVICE",
        "bound_at": NOW - 30 * DAY,
        "status": "bound",
        "version": 1,
    }
    return _build(Binding, defaults, over)  # type: ignore[no-any-return]


def make_event(event_type: str, at: datetime, **over: Any) -> AccountEvent:
    defaults: dict[str, Any] = {
        "type": event_type,
        "at": at,
        "ip": None,
        "country": None,
        "device": None,
        "amount_usd": None,
        "address": None,
        "received_at": None,
    }
    return _build(AccountEvent, defaults, over)  # type: ignore[no-any-return]


def make_evidence(**over: Any) -> Evidence:
    defaults: dict[str, Any] = {
        "type": EvidenceType.KYC_LIVENESS_PASS.value,
        "reference": "ev-1",
        "observed_at": NOW - HOUR,
    }
    return _build(Evidence, defaults, over)  # type: ignore[no-any-return]


def all_evidence(observed_at: datetime = NOW - HOUR) -> list[Evidence]:
    """One fresh piece of every evidence type: satisfies every requirement of the default pack."""
    return [
        make_evidence(type=t.value, reference=f"ev-{t.value.lower()}", observed_at=observed_at)
        for t in EvidenceType
    ]


# --------------------------------------------------------------------------- risk and facts


def make_risk_facts(**over: Any) -> RiskFacts:
    """A year-old account with nothing going on: scores 0 with the shipped weights."""
    defaults: dict[str, Any] = {"account_age_days": 365}
    return _build(RiskFacts, defaults, over)  # type: ignore[no-any-return]


def every_factor_facts() -> RiskFacts:
    """Facts on which every scorecard factor fires, with counts above one where a factor has a
    plural sentence."""
    return make_risk_facts(
        account_age_days=3,
        credential_changes_7d=2,
        sim_or_phone_changes_7d=1,
        sim_swaps_7d=1,
        new_device_logins_24h=1,
        new_country_logins_24h=1,
        new_country_logins_7d=2,
        withdrawal_addresses_added_7d=1,
        other_restrictions_90d=4,
        earlier_thaws=5,
        evidence_age_hours=61,
        youngest_target_age_minutes=7,
        prior_rejected_or_withdrawn_30d=2,
        requester_today=20,
        requester_30d=45,
        off_hours=True,
        linked_restricted_accounts=3,
        days_since_login=88,
        pair_approvals_30d=9,
        requester_approved_30d=11,
        requester_approvers_30d=3,
    )


# Risk facts that score exactly the key with the shipped scorecard (checked in test_risk.py).
# The textbook takeover itself scores 100 (test_risk.py), so the high presets use a ring.
TEXTBOOK_TAKEOVER: dict[str, Any] = {
    "credential_changes_7d": 1,  # 15
    "sim_or_phone_changes_7d": 1,  # 20
    "new_device_logins_24h": 1,  # 20, and the takeover pattern with the change: 25
    "new_country_logins_24h": 1,  # 20
    "new_country_logins_7d": 1,  # same login: new_country_7d does not fire
}
RING: dict[str, Any] = {"linked_restricted_accounts": 3}  # linked 35 + ring 35
RISK_PRESETS: dict[int, dict[str, Any]] = {
    0: {},
    25: {"off_hours": True},
    30: {"sim_or_phone_changes_7d": 1, "account_age_days": 10},
    45: {"sim_or_phone_changes_7d": 1, "off_hours": True},
    50: {"sim_or_phone_changes_7d": 1, "new_country_logins_24h": 1, "account_age_days": 10},
    65: {
        "credential_changes_7d": 1,
        "sim_or_phone_changes_7d": 1,
        "new_country_logins_7d": 1,
        "off_hours": True,
    },
    70: RING,
    85: {**RING, "credential_changes_7d": 1},
    90: {**RING, "sim_or_phone_changes_7d": 1},
}


def risk_facts_scoring(points: int, **over: Any) -> RiskFacts:
    """Risk facts that score `points` (one of RISK_PRESETS) under the shipped scorecard."""
    return make_risk_facts(**{**RISK_PRESETS[points], **over})


def make_facts(**over: Any) -> DecisionFacts:
    """A human agent's thaw of one week-old ATO_SUSPECTED restriction on a quiet account."""
    defaults: dict[str, Any] = {
        "kind": "thaw",
        "reasons": ("ATO_SUSPECTED",),
        "reason_classes": ("standard",),
        "binding_types": (),
        "requester_roles": ("requester",),
        "requester_team": "customer_support",
        "youngest_target_age_minutes": 7 * 24 * 60,
        "target_count": 1,
        "risk": make_risk_facts(),
    }
    return _build(DecisionFacts, defaults, over)  # type: ignore[no-any-return]


def make_unbind_facts(*binding_types: str, **over: Any) -> DecisionFacts:
    defaults: dict[str, Any] = {
        "kind": "unbind",
        "reasons": (),
        "reason_classes": (),
        "binding_types": tuple(sorted(binding_types)),
        "youngest_target_age_minutes": 10**6,
        "target_count": len(binding_types),
    }
    return make_facts(**{**defaults, **over})


# --------------------------------------------------------------------------- decisions and requests


def make_decision(**over: Any) -> Decision:
    defaults: dict[str, Any] = {
        "outcome": "review",
        "policy_version": "test+000000000000",
        "rules": (),
        "required_approvals": (Clause("fraud_reviewer", 1),),
        "min_teams": 0,
        "evidence_required": (EvidenceRequirement(("KYC_LIVENESS_PASS",), 72),),
        "missing_evidence": (),
        "risk": RiskScore(0),
        "plan": (PlanOp(op="lift_restriction", target="rst-1", expected_version=1),),
    }
    return _build(Decision, defaults, over)  # type: ignore[no-any-return]


def make_targets(**over: Any) -> list[TargetState]:
    defaults: dict[str, Any] = {"id": "rst-1", "version": 1, "status": "active"}
    return [_build(TargetState, defaults, over)]


def make_approval(**over: Any) -> Approval:
    defaults: dict[str, Any] = {
        "principal": "fr-1",
        "role": "fraud_reviewer",
        "team": "fraud_risk",
        "at": NOW - HOUR,
        "comment": "looks fine",
        "state_digest": "digest",
        "break_glass": False,
    }
    return _build(Approval, defaults, over)  # type: ignore[no-any-return]


def make_request(**over: Any) -> Request:
    """A new thaw request by cs-1; its digest is computed from its decision unless given."""
    decision = over.pop("decision", None) or make_decision()
    defaults: dict[str, Any] = {
        "id": "req-1",
        "kind": "thaw",
        "account_id": "acct-1",
        "targets": ["rst-1"],
        "requester": "cs-1",
        "justification": "customer passed liveness on a call",
        "evidence": [make_evidence()],
        "created_at": NOW - HOUR,
        "decision": decision,
        "state_digest": state_digest(make_targets(), decision),
        "status": "new",
        "approvals": [],
    }
    merged = {**defaults, **over}
    merged["approvals"] = list(merged["approvals"])  # never share a caller's list
    return _build(Request, merged, {})  # type: ignore[no-any-return]
