"""Turn live state into frozen facts, and facts into a decision.

Used at intake, at every approval, and by the worker just before it applies a plan, so all three
judge exactly the same way. The facts are returned for persistence, so a later policy version can
be backtested on exactly them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain import risk
from thawgate.domain.catalog import SECURITY_CHANGE_EVENTS, ReasonClass
from thawgate.domain.decision import Decision, PlanOp, TargetState, state_digest
from thawgate.domain.errors import ValidationFailed
from thawgate.domain.model import Account, AccountEvent, Binding, Principal, Restriction
from thawgate.domain.request import Evidence
from thawgate.policy.request_policy import DecisionFacts, RequestPolicy

HISTORY = timedelta(days=90)
NO_RESTRICTION_AGE = 10**6


@dataclass(frozen=True, slots=True)
class Assessment:
    decision: Decision
    digest: str
    facts: dict[str, object]
    targets: list[TargetState]
    placers: set[str]
    inactive: list[str]
    requester: Principal | None = None
    reasons: tuple[str, ...] = ()
    reason_classes: tuple[str, ...] = ()
    binding_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Subject:
    """What is being judged: a new request body or a stored request."""

    kind: str
    account: Account
    target_ids: list[str]
    requester: Principal
    evidence: list[Evidence]
    evidence_as_of: datetime
    duration_hours: int | None = None
    request_id: str | None = None


def resolve_targets(
    account: Account, kind: str, target_ids: list[str]
) -> tuple[list[Restriction], list[Binding]]:
    """The targets as objects, or a ValidationFailed naming the field."""
    if not target_ids:
        raise ValidationFailed("targets: at least one target is required", field="targets")
    if len(set(target_ids)) != len(target_ids):
        raise ValidationFailed("targets: a target is named twice", field="targets")
    found_r: list[Restriction] = []
    found_b: list[Binding] = []
    for tid in target_ids:
        r, b = account.restriction(tid), account.binding(tid)
        if kind == "thaw" and r is not None:
            found_r.append(r)
        elif kind == "unbind" and b is not None:
            found_b.append(b)
        elif r is None and b is None:
            raise ValidationFailed(
                f"targets: {tid} is not on account {account.id}", field="targets"
            )
        else:
            wants = "restrictions" if kind == "thaw" else "bindings"
            raise ValidationFailed(
                f"targets: a {kind} names only {wants}; {tid} is not one", field="targets"
            )
    return found_r, found_b


def assess(uow: UnitOfWork, policy: RequestPolicy, subject: Subject, now: datetime) -> Assessment:
    restrictions, bindings = resolve_targets(subject.account, subject.kind, subject.target_ids)
    events = uow.accounts.events(subject.account.id, since=now - HISTORY)
    facts = DecisionFacts(
        kind=subject.kind,
        reasons=tuple(sorted({r.reason for r in restrictions})),
        reason_classes=tuple(sorted({r.reason_class.name.lower() for r in restrictions})),
        binding_types=tuple(sorted({b.type for b in bindings})),
        requester_roles=tuple(sorted(subject.requester.roles)),
        requester_team=subject.requester.team,
        youngest_target_age_minutes=_youngest_minutes(restrictions, now),
        target_count=len(subject.target_ids),
        risk=_risk_facts(uow, subject, restrictions, events, now),
    )
    not_before = _not_before(restrictions, events)
    decision = policy.decide(
        facts,
        subject.evidence,
        as_of=subject.evidence_as_of,
        not_before=not_before,
        base_plan=_base_plan(restrictions, bindings, subject.duration_hours),
    )
    targets = [TargetState(r.id, r.version, r.status) for r in restrictions]
    targets += [TargetState(b.id, b.version, b.status) for b in bindings]
    return Assessment(
        decision=decision,
        digest=state_digest(targets, decision),
        facts={
            "decision_facts": _facts_dict(facts),
            "evidence_as_of": subject.evidence_as_of.isoformat(),
            "not_before": None if not_before is None else not_before.isoformat(),
        },
        targets=targets,
        placers={p for r in restrictions for p in r.placers},
        inactive=[r.id for r in restrictions if not r.is_active]
        + [b.id for b in bindings if not b.is_active],
        requester=subject.requester,
        reasons=facts.reasons,
        reason_classes=facts.reason_classes,
        binding_types=facts.binding_types,
    )


def _facts_dict(facts: DecisionFacts) -> dict[str, object]:
    return {
        "kind": facts.kind,
        "reasons": list(facts.reasons),
        "reason_classes": list(facts.reason_classes),
        "binding_types": list(facts.binding_types),
        "requester_roles": list(facts.requester_roles),
        "requester_team": facts.requester_team,
        "youngest_target_age_minutes": facts.youngest_target_age_minutes,
        "target_count": facts.target_count,
        "risk": facts.risk.as_dict(),
    }


def _base_plan(
    restrictions: list[Restriction], bindings: list[Binding], duration_hours: int | None
) -> tuple[PlanOp, ...]:
    ops = [
        PlanOp(
            op="lift_restriction",
            target=r.id,
            expected_version=r.version,
            duration_hours=duration_hours,
        )
        for r in restrictions
    ]
    ops += [PlanOp(op="remove_binding", target=b.id, expected_version=b.version) for b in bindings]
    return tuple(ops)


def _youngest_minutes(restrictions: list[Restriction], now: datetime) -> int:
    if not restrictions:
        return NO_RESTRICTION_AGE
    newest = max(r.placed_at for r in restrictions)
    return max(0, int((now - newest).total_seconds() // 60))


def _not_before(restrictions: list[Restriction], events: list[AccountEvent]) -> datetime | None:
    moments = [r.placed_at for r in restrictions]
    moments += [e.at for e in events if e.type in SECURITY_CHANGE_EVENTS]
    return max(moments) if moments else None


def _risk_facts(
    uow: UnitOfWork,
    subject: Subject,
    targets: list[Restriction],
    events: list[AccountEvent],
    now: datetime,
) -> risk.RiskFacts:
    account = subject.account
    target_ids = {r.id for r in targets}
    counts = risk.event_counts(events, now)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    requester = subject.requester.id
    today, month = uow.requests.requester_volume(requester, day_start, now + timedelta(days=1))
    newest_evidence = max((e.observed_at for e in subject.evidence), default=None)
    prior = uow.requests.count_on_account(
        account.id, ("rejected", "withdrawn"), now - timedelta(days=30)
    )
    return risk.RiskFacts(
        account_age_days=max(0, (now - account.created_at).days),
        other_restrictions_90d=sum(
            1
            for r in account.restrictions
            if r.id not in target_ids
            and now - r.placed_at <= HISTORY
            and r.reason_class is not ReasonClass.NON_LIFTABLE
        ),
        earlier_thaws=sum(1 for r in account.restrictions if r.status == "lifted"),
        linked_restricted_accounts=uow.accounts.linked_restricted(account.id),
        evidence_age_hours=0
        if newest_evidence is None
        else max(0, int((subject.evidence_as_of - newest_evidence).total_seconds() // 3600)),
        youngest_target_age_minutes=_youngest_minutes(targets, now),
        prior_rejected_or_withdrawn_30d=prior,
        requester_today=today,
        requester_30d=month,
        credential_changes_7d=counts["credential_changes_7d"],
        sim_or_phone_changes_7d=counts["sim_or_phone_changes_7d"],
        new_device_logins_24h=counts["new_device_logins_24h"],
        new_country_logins_24h=counts["new_country_logins_24h"],
        new_country_logins_7d=counts["new_country_logins_7d"],
        withdrawal_addresses_added_7d=counts["withdrawal_addresses_added_7d"],
    )
