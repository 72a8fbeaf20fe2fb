"""Need to know (no tipping-off): who may see why a restriction was placed.

Principals outside legal, compliance, fraud_risk and audit see a regulatory, legal_hold or
non_liftable restriction only as reason `RESTRICTED` plus its owning team, and never its note:
enough to route the customer, not enough to tip anyone off.
"""

from __future__ import annotations

from dataclasses import dataclass

from thawgate.domain.catalog import REASONS, Reason, ReasonClass
from thawgate.domain.model import Principal

CLEARED_TEAMS = frozenset({"legal", "compliance", "fraud_risk"})
CLEARED_ROLES = frozenset({"auditor"})  # "audit" is a function, held as the auditor role
SENSITIVE_CLASSES = frozenset({ReasonClass.REGULATORY, ReasonClass.LEGAL_HOLD,
                               ReasonClass.NON_LIFTABLE})  # fmt: skip
REDACTED_REASON = "RESTRICTED"


@dataclass(frozen=True, slots=True)
class ShownReason:
    reason: str
    owning_team: str
    note: str | None
    redacted: bool


def is_cleared(viewer: Principal) -> bool:
    return viewer.team in CLEARED_TEAMS or bool(viewer.roles & CLEARED_ROLES)


def is_sensitive(reason: str) -> bool:
    info = REASONS.get(Reason(reason)) if reason in Reason.__members__ else None
    return info is None or info.reason_class in SENSITIVE_CLASSES


def owning_team(reason: str) -> str:
    info = REASONS.get(Reason(reason)) if reason in Reason.__members__ else None
    return "unknown" if info is None else str(info.owning_team)


def shown_reason(viewer: Principal, *, reason: str, note: str | None) -> ShownReason:
    """What this viewer may see of a restriction's reason and note."""
    team = owning_team(reason)
    if is_cleared(viewer) or not is_sensitive(reason):
        return ShownReason(reason=reason, owning_team=team, note=note, redacted=False)
    return ShownReason(reason=REDACTED_REASON, owning_team=team, note=None, redacted=True)
