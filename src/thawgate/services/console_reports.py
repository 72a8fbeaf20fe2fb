"""The console's dashboard and audit page: figures read behind the audit-read permission, the
same check as the audit API (`audit_log.authorize_read_in`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from thawgate.adapters.db.alerts_repo import Alert
from thawgate.adapters.db.console_repo import AuditRow
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain import merkle
from thawgate.domain.audit_event import canonical_json, event_leaf_hash
from thawgate.domain.break_glass import BreakGlass
from thawgate.domain.checkpoint import SignedCheckpoint
from thawgate.domain.errors import ValidationFailed
from thawgate.domain.model import Principal
from thawgate.policy.authz import SystemResource
from thawgate.services import audit_log, monitoring
from thawgate.services.env import Env, actor_of

DECIDED = ("approved", "executed", "rejected", "reverted", "failed")
OUTCOMES = ("executed", "rejected", "withdrawn", "expired", "reverted", "failed", "open")
# Time to decision, in hours: the upper bound of each bucket (the last is open-ended).
DECISION_BUCKETS = ((1, "<1 h"), (4, "1-4 h"), (12, "4-12 h"), (24, "12-24 h"), (72, "1-3 d"))
AUDIT_PAGE = 50


def outcome_of(status: str) -> str:
    return status if status in OUTCOMES else "open"


@dataclass(frozen=True, slots=True)
class Dashboard:
    days: list[date]
    per_day: dict[str, list[int]]  # outcome -> a count per day
    decision_buckets: list[tuple[str, int]]
    per_team: dict[str, dict[str, int]]  # team -> outcome -> count
    jobs: dict[str, int]
    stale_requests: int
    # None: the viewer may not read alerts (Cedar `read_alerts`, as GET /v1/alerts).
    alerts: list[Alert] | None
    bad_thaws: monitoring.BadThawCounts | None = None
    # Empty unless the viewer may read break-glass uses (`read_break_glass`).
    break_glass_open: list[BreakGlass] = field(default_factory=list)


def dashboard(uow: UnitOfWork, env: Env, *, actor: Principal, days: int = 30) -> Dashboard:
    with uow:
        audit_log.authorize_read_in(uow, env, actor)
        now = env.clock()
        start = (now - timedelta(days=days - 1)).date()
        rows = uow.console.requests_since(datetime.combine(start, datetime.min.time(), now.tzinfo))
        jobs = uow.console.job_counts()

        def may(action: str, resource: str) -> bool:
            """The same Cedar action as the API's route for this part; a no hides the part."""
            return env.authorizer.authorize(
                actor_of(actor), action, SystemResource(name=resource)
            ).allowed

        alerts = uow.alerts.recent(limit=10) if may("read_alerts", "alerts") else None
        open_reviews = (  # stay here until reviewed
            uow.break_glass.listing(open_only=True)
            if may("read_break_glass", "break_glass")
            else []
        )
        since = datetime.combine(start, datetime.min.time(), now.tzinfo)
        bad = (
            monitoring.counts_of(uow.monitoring.hits(since=since), since)
            if may("read_bad_thaws", "monitoring")
            else None
        )
    day_list = [start + timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(day_list)}
    per_day: dict[str, list[int]] = {o: [0] * days for o in OUTCOMES}
    per_team: dict[str, Counter[str]] = defaultdict(Counter)
    buckets: Counter[str] = Counter()
    stale = 0
    for status, team, filed, changed, was_stale in rows:
        outcome = outcome_of(status)
        per_day[outcome][index.get(filed.date(), 0)] += 1
        per_team[team][outcome] += 1
        stale += was_stale == "1"
        if status in DECIDED:
            buckets[_bucket((changed - filed).total_seconds() / 3600)] += 1
    labels = [label for _, label in DECISION_BUCKETS] + [">3 d"]
    return Dashboard(
        days=day_list,
        per_day=per_day,
        decision_buckets=[(label, buckets[label]) for label in labels],
        per_team={t: dict(c) for t, c in sorted(per_team.items())},
        jobs=jobs,
        stale_requests=stale,
        alerts=alerts,
        bad_thaws=bad,
        break_glass_open=open_reviews,
    )


def _bucket(hours: float) -> str:
    return next((label for bound, label in DECISION_BUCKETS if hours < bound), ">3 d")


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditRow]
    checkpoint: SignedCheckpoint | None
    size: int
    next_before: int | None


def audit_page(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    who: str | None,
    subject: str | None,
    action: str | None,
    before_seq: int | None,
) -> AuditPage:
    with uow:
        audit_log.authorize_read_in(uow, env, actor)
        events = uow.console.audit_events(
            actor=who, subject=subject, action=action, before_seq=before_seq, limit=AUDIT_PAGE
        )
        checkpoint = uow.audit.tree.latest_checkpoint()
        size = uow.audit.size()
    more = len(events) == AUDIT_PAGE
    return AuditPage(events, checkpoint, size, events[-1].seq if more else None)


@dataclass(frozen=True, slots=True)
class CheckedProof:
    seq: int
    size: int
    leaf: bytes
    hashes: list[bytes]
    root: bytes
    verified: bool


def checked_inclusion(uow: UnitOfWork, env: Env, *, actor: Principal, seq: int) -> CheckedProof:
    """Event `seq`'s inclusion proof against the latest signed checkpoint, checked here."""
    checkpoint = audit_log.read_checkpoint(uow, env, actor=actor)
    if seq >= checkpoint.size:
        raise ValidationFailed(
            f"event {seq} is newer than the latest checkpoint ({checkpoint.size} events); "
            "it is covered by the next one, within about a second",
            field="seq",
        )
    proof = audit_log.inclusion_proof(uow, env, actor=actor, seq=seq, size=checkpoint.size)
    entries = audit_log.read_events(uow, env, actor=actor, from_seq=seq, limit=1)
    if not entries or entries[0].seq != seq:
        raise ValidationFailed(f"no audit event {seq}", field="seq")
    e = entries[0]  # the leaf is recomputed from the event as stored, not read from the tree
    leaf = event_leaf_hash(e.seq, e.at, e.actor, e.action, e.subject, canonical_json(e.data))
    ok = merkle.verify_inclusion(seq, checkpoint.size, leaf, proof.hashes, checkpoint.root_hash)
    return CheckedProof(seq, checkpoint.size, leaf, proof.hashes, checkpoint.root_hash, ok)
