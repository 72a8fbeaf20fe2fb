"""Need to know (no tipping-off): who may see why a restriction was placed.

Principals outside legal, compliance, fraud_risk and audit see a regulatory, legal_hold or
non_liftable restriction only as reason `RESTRICTED` plus its owning team, and never its note:
enough to route the customer, not enough to tip anyone off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


# --- request JSON and refusals ---------------------------------------------------------------

SENSITIVE_REASONS = frozenset(
    str(r) for r, info in REASONS.items() if info.reason_class in SENSITIVE_CLASSES
)
# Cedar policies whose very id tells that a target is of a sensitive class.
REVEALING_POLICIES = frozenset({"break-glass-never-protected-reasons"})
REDACTED_RULE = "restricted"
# Evidence types that tell which sensitive reason a restriction has.
REVEALING_EVIDENCE = frozenset({"LE_RELEASE_ORDER", "COURT_RELEASE_ORDER", "AML_CASE_CLOSED"})


def _evidence_label(label: str) -> str:
    """`A|B` alternatives: any revealing type makes the whole label RESTRICTED."""
    return REDACTED_REASON if REVEALING_EVIDENCE.intersection(label.split("|")) else label


def policy_reveals(policy_id: str) -> bool:
    return policy_id in REVEALING_POLICIES or any(r in policy_id for r in SENSITIVE_REASONS)


def shown_policy_ids(viewer: Principal, policy_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The Cedar policy ids a 403 may name to this viewer: `restricted` for those that name a
    sensitive reason (e.g. `thaw-matrix-SANCTIONS_HIT`)."""
    if is_cleared(viewer):
        return policy_ids
    return tuple(dict.fromkeys(REDACTED_RULE if policy_reveals(p) else p for p in policy_ids))


def redact_request(
    viewer: Principal, body: dict[str, Any], owning_teams: list[str]
) -> dict[str, Any]:
    """A request's JSON as this viewer may see it. `owning_teams`: the owning teams of its
    sensitive targets (empty: nothing to hide). Hidden: every rule id and message (they name
    the reason: `legal-hold`, `sanctions-not-via-thaw`), the status reason, evidence types that
    name the kind of hold (a law-enforcement or court release order, a closed AML case), and
    any reason in the plan; shown instead: `RESTRICTED` and the owning teams."""
    if not owning_teams or is_cleared(viewer):
        return body
    teams = ", ".join(owning_teams)
    shown = f"{REDACTED_REASON} (owning team: {teams})"
    out = dict(body)
    decision = dict(out.get("decision") or {})
    decision["rules"] = [
        {"id": REDACTED_RULE, "effect": rule.get("effect"), "message": shown}
        for rule in decision.get("rules") or []
    ]
    decision["evidence_required"] = [
        dict(e, type=_evidence_label(str(e.get("type", ""))))
        for e in decision.get("evidence_required") or []
    ]
    decision["missing_evidence"] = [
        _evidence_label(str(m)) for m in decision.get("missing_evidence") or []
    ]
    out["decision"] = decision
    if out.get("status_reason") is not None:
        out["status_reason"] = shown
    out["plan"] = [
        dict(op, reason=REDACTED_REASON) if "reason" in op else op for op in out.get("plan") or []
    ]
    out["restricted"] = {"reason": REDACTED_REASON, "owning_teams": list(owning_teams)}
    return out


def restricted_owners(viewer: Principal, target_reasons: list[str]) -> list[str]:
    """The owning teams of the sensitive reasons among a request's targets, for this viewer
    (empty when the viewer is cleared or nothing is sensitive)."""
    if is_cleared(viewer):
        return []
    return sorted({owning_team(r) for r in target_reasons if is_sensitive(r)})
