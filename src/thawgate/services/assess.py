"""Turn live state into frozen facts, and facts into a decision.

Used at intake, at every approval, and by the worker just before it applies a plan, so all three
judge exactly the same way. The facts are returned for persistence, so a later policy version can
be backtested on exactly them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

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
    decision_facts: DecisionFacts | None = None  # what was judged, for replays and evaluation


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
    submitted_at: datetime | None = None  # None: being submitted now
    approvers: tuple[str, ...] = ()  # whose approvals count: pair recurrence is scored on them


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


class FactSource(Protocol):
    """Where the counted facts come from: the repositories one query at a time, or a batch
    prefetched in a few set-based queries (the worker)."""

    def events(self, account_id: str, since: datetime) -> list[AccountEvent]: ...

    def linked_restricted(self, account_id: str) -> int: ...

    def requester_volume(
        self, requester: str, day_start: datetime, until: datetime
    ) -> tuple[int, int]: ...

    def rejected_or_withdrawn(self, account_id: str, since: datetime) -> int: ...


@runtime_checkable
class OperatorHistory(Protocol):
    """The requester's earlier requests: when each was filed, and who approved it."""

    def requester_history(
        self, requester: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, tuple[str, ...]]]: ...


class RepositoryFacts:
    """The facts, read one query at a time in the caller's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def events(self, account_id: str, since: datetime) -> list[AccountEvent]:
        return self.uow.accounts.events(account_id, since=since)

    def linked_restricted(self, account_id: str) -> int:
        return self.uow.accounts.linked_restricted(account_id)

    def requester_volume(
        self, requester: str, day_start: datetime, until: datetime
    ) -> tuple[int, int]:
        return self.uow.requests.requester_volume(requester, day_start, until)

    def rejected_or_withdrawn(self, account_id: str, since: datetime) -> int:
        return self.uow.requests.count_on_account(account_id, ("rejected", "withdrawn"), since)

    def requester_history(
        self, requester: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, tuple[str, ...]]]:
        return self.uow.requests.requester_history(requester, since, until)


def assess(
    uow: UnitOfWork | None,
    policy: RequestPolicy,
    subject: Subject,
    now: datetime,
    source: FactSource | None = None,
) -> Assessment:
    if source is None:
        if uow is None:
            raise ValueError("assess needs a unit of work or a fact source")
        source = RepositoryFacts(uow)
    restrictions, bindings = resolve_targets(subject.account, subject.kind, subject.target_ids)
    events = source.events(subject.account.id, now - HISTORY)
    facts = DecisionFacts(
        kind=subject.kind,
        reasons=tuple(sorted({r.reason for r in restrictions})),
        reason_classes=tuple(sorted({r.reason_class.name.lower() for r in restrictions})),
        binding_types=tuple(sorted({b.type for b in bindings})),
        requester_roles=tuple(sorted(subject.requester.roles)),
        requester_team=subject.requester.team,
        youngest_target_age_minutes=_youngest_minutes(restrictions, now),
        target_count=len(subject.target_ids),
        risk=_risk_facts(source, _history(uow, source), subject, restrictions, events, now),
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
        decision_facts=facts,
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


def _history(uow: UnitOfWork | None, source: FactSource) -> OperatorHistory:
    """The source, if it answers operator history; else the repositories (the worker's batch)."""
    if isinstance(source, OperatorHistory):
        return source
    if uow is None:
        raise ValueError("the fact source has no operator history and there is no unit of work")
    return RepositoryFacts(uow)


def _operator_facts(
    history: OperatorHistory, subject: Subject, now: datetime
) -> tuple[bool, int, int, int]:
    """Off-hours against the requester's own hours; pair recurrence for the approvers counted.

    Both look at the 30 days before the request was filed, so a re-evaluation later (at an
    approval, before execution) sees the same history: only a new approver can change them.
    """
    filed = subject.submitted_at or now
    earlier = history.requester_history(subject.requester.id, filed - timedelta(days=30), filed)
    pair, approved, approvers = risk.pair_counts([a for _, a in earlier], subject.approvers)
    return risk.is_off_hours(filed, [t for t, _ in earlier]), pair, approved, approvers


def _risk_facts(
    source: FactSource,
    history: OperatorHistory,
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
    today, month = source.requester_volume(requester, day_start, now + timedelta(days=1))
    newest_evidence = max((e.observed_at for e in subject.evidence), default=None)
    prior = source.rejected_or_withdrawn(account.id, now - timedelta(days=30))
    age_days = max(0, (now - account.created_at).days)
    off_hours, pair, approved, approvers = _operator_facts(history, subject, now)
    return risk.RiskFacts(
        account_age_days=age_days,
        days_since_login=risk.days_since_login(events, now, age_days),
        other_restrictions_90d=sum(
            1
            for r in account.restrictions
            if r.id not in target_ids
            and now - r.placed_at <= HISTORY
            and r.reason_class is not ReasonClass.NON_LIFTABLE
        ),
        earlier_thaws=sum(1 for r in account.restrictions if r.status == "lifted"),
        linked_restricted_accounts=source.linked_restricted(account.id),
        evidence_age_hours=0
        if newest_evidence is None
        else max(0, int((subject.evidence_as_of - newest_evidence).total_seconds() // 3600)),
        youngest_target_age_minutes=_youngest_minutes(targets, now),
        prior_rejected_or_withdrawn_30d=prior,
        requester_today=today,
        requester_30d=month,
        credential_changes_7d=counts["credential_changes_7d"],
        sim_or_phone_changes_7d=counts["sim_or_phone_changes_7d"],
        sim_swaps_7d=counts["sim_swaps_7d"],
        new_device_logins_24h=counts["new_device_logins_24h"],
        new_country_logins_24h=counts["new_country_logins_24h"],
        new_country_logins_7d=counts["new_country_logins_7d"],
        withdrawal_addresses_added_7d=counts["withdrawal_addresses_added_7d"],
        off_hours=off_hours,
        pair_approvals_30d=pair,
        requester_approved_30d=approved,
        requester_approvers_30d=approvers,
    )
