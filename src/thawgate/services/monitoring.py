"""Post-thaw monitoring: account events checked against the pack's monitoring rules, for a window
after each execution; and the bad-thaw counts.

Monitoring runs in the transaction that records the events (`open_windows` then `watch`, called
by `restrictions.ingest_events`), not in the outbox worker: the re-freeze must land before the
attacker's next withdrawal, the event, the hit, the alert, the restriction and their audit events
commit together or not at all, and an account with no open window costs one indexed query.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from thawgate.adapters.db.monitoring_repo import Hit
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import NotFound
from thawgate.domain.model import AccountEvent, Principal
from thawgate.domain.monitoring import ESTABLISHED_AFTER, StoredEvent, Window, window_facts
from thawgate.policy.authz import SystemResource
from thawgate.policy.monitoring import MonitoringPolicy, MonitoringRule
from thawgate.services.alerts import raise_alert
from thawgate.services.env import Env, authorize
from thawgate.services.execution import place_linked

SYSTEM = "system"
ALERT_KIND = "post-thaw-monitoring"
REFREEZE_SCOPE, REFREEZE_REASON = "full", "ATO_SUSPECTED"


def open_windows(
    uow: UnitOfWork, env: Env, *, account_id: str, events: list[AccountEvent]
) -> list[Window]:
    """Before the events are recorded: the windows they fall in. When there is one, the account
    row is locked first (PostgreSQL), so that concurrent ingestions of the account take their
    turns, each seeing the events and hits of the one before; none races to the same hit."""
    policy = env.policy.monitoring
    if not events or not policy.rules or not _windows(uow, env, account_id, events):
        return []
    uow.monitoring.lock_account(account_id)
    return _windows(uow, env, account_id, events)  # again, under the lock


def _windows(
    uow: UnitOfWork, env: Env, account_id: str, events: list[AccountEvent]
) -> list[Window]:
    first, last = min(e.at for e in events), max(e.at for e in events)
    found = uow.monitoring.windows(
        account_id, first_at=first, last_at=last, hours=env.policy.monitoring.window_hours
    )
    return [w for w in found if any(w.covers(e.at) for e in events)]


def watch(uow: UnitOfWork, env: Env, *, windows: list[Window]) -> list[Hit]:
    """After the events are recorded: check each window they fall in against the monitoring
    rules. In the caller's transaction (the caller commits). Returns the new hits."""
    pack = env.policy
    hits: list[Hit] = []
    for window in windows:
        hits += _watch_window(uow, env, window, pack.monitoring, pack.version)
    return hits


def _watch_window(
    uow: UnitOfWork, env: Env, window: Window, policy: MonitoringPolicy, version: str
) -> list[Hit]:
    """Every event of the window, so that an event arriving late (an earlier `at`) still
    completes a pattern; a rule fires at most once per window."""
    repo = uow.monitoring
    events = repo.events_between(window.account_id, window.opened_at, window.closes_at)
    facts = window_facts(
        window,
        events,
        known_countries=repo.countries_before(
            window.account_id, window.opened_at - ESTABLISHED_AFTER
        ),
        addresses_added=repo.addresses_added(
            window.account_id,
            (e.event.address for e in events if e.event.type == "withdrawal" and e.event.address),
        ),
    )
    done = repo.rules_hit(window.request_id)
    hits = []
    for stored, event_facts in facts:
        for rule in policy.hits(event_facts):
            if rule.id not in done:
                done.add(rule.id)
                hits.append(_record_hit(uow, env, window, rule, stored, version))
    return hits


def _record_hit(
    uow: UnitOfWork,
    env: Env,
    window: Window,
    rule: MonitoringRule,
    stored: StoredEvent,
    version: str,
) -> Hit:
    now = env.clock()
    restriction_id = _refreeze(uow, env, window, rule, now) if rule.refreeze else None
    e = stored.event
    detail: dict[str, object] = {
        "rule": rule.id,
        "message": rule.message,
        "account_id": window.account_id,
        "event_id": stored.id,
        "event_type": e.type,
        "event_at": e.at.isoformat(),
        "restriction_id": restriction_id,
        "policy_version": version,
    }
    alert = raise_alert(
        uow,
        env,
        kind=ALERT_KIND,
        severity=rule.severity,
        subject=f"account:{window.account_id}",
        data=detail,
        request_id=window.request_id,
    )
    hit = Hit(
        id=env.ids("hit"),
        request_id=window.request_id,
        rule_id=rule.id,
        account_id=window.account_id,
        event_id=stored.id,
        event_type=e.type,
        event_at=e.at,
        requester=window.requester,
        approvers=window.approvers,
        policy_version=version,
        alert_id=alert.id,
        restriction_id=restriction_id,
        detected_at=now,
    )
    uow.monitoring.add_hit(hit)
    uow.audit.append(
        at=now,
        actor=SYSTEM,
        action="monitoring:hit",
        subject=f"request:{window.request_id}",
        data=detail | {"alert_id": alert.id, "hit_id": hit.id},
    )
    return hit


def _refreeze(
    uow: UnitOfWork, env: Env, window: Window, rule: MonitoringRule, now: datetime
) -> str:
    """A `full` ATO_SUSPECTED restriction by the system, linked to the request, through the
    account-system port. One per window: a second hit points at the same restriction."""
    rid, key = f"{window.request_id}-monitor", f"{window.request_id}:monitor"
    if uow.accounts.restriction(rid) is not None:
        return rid
    request = uow.requests.get(window.request_id)
    if request is None:  # the window came from this request's row in this transaction
        raise NotFound(f"no request {window.request_id}")
    system = env.account_system(uow, now)
    place_linked(  # the window's account is its request's
        uow,
        system,
        request,
        rid,
        key,
        scope=REFREEZE_SCOPE,
        reason=REFREEZE_REASON,
        now=now,
        expires=None,
    )
    uow.audit.append(
        at=now,
        actor=SYSTEM,
        action="restriction:placed",
        subject=f"restriction:{rid}",
        data={
            "request_id": window.request_id,
            "account_id": window.account_id,
            "scope": REFREEZE_SCOPE,
            "reason": REFREEZE_REASON,
            "expires_at": None,
            "monitoring_rule": rule.id,
        },
    )
    return rid


@dataclass(frozen=True, slots=True)
class BadThawCounts:
    """Bad thaws since `since` (None: ever), most first.

    `per_requester` and `per_approver` count requests with at least one monitoring hit (a request
    is one bad thaw, whatever number of rules it tripped); `per_rule` counts hits of each rule.
    """

    since: datetime | None
    per_requester: list[tuple[str, int]]
    per_approver: list[tuple[str, int]]
    per_rule: list[tuple[str, int]]

    @property
    def bad_thaws(self) -> int:
        return sum(n for _, n in self.per_requester)


def bad_thaw_counts(uow: UnitOfWork, since: datetime | None) -> BadThawCounts:
    """Count bad thaws from the recorded hits (detected at or after `since`). Opens `uow`; does
    no authorization (the caller's route or page does: Cedar action `read_bad_thaws`)."""
    with uow:
        hits = uow.monitoring.hits(since=since)
    return counts_of(hits, since)


def counts_of(hits: list[Hit], since: datetime | None) -> BadThawCounts:
    requests = {h.request_id: h for h in hits}  # one bad thaw per request
    per_requester = Counter(h.requester for h in requests.values())
    per_approver = Counter(a for h in requests.values() for a in set(h.approvers))
    per_rule = Counter(h.rule_id for h in hits)
    return BadThawCounts(
        since=since,
        per_requester=_ranked(per_requester),
        per_approver=_ranked(per_approver),
        per_rule=_ranked(per_rule),
    )


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def read_bad_thaw_counts(
    uow: UnitOfWork, env: Env, *, actor: Principal, since: datetime | None
) -> BadThawCounts:
    """`bad_thaw_counts` for a principal: Cedar decides (reviewer roles and auditors)."""
    with uow:
        authorize(
            uow,
            env,
            principal=actor,
            action="read_bad_thaws",
            resource=SystemResource("monitoring"),
            subject="monitoring:bad-thaws",
        )
        hits = uow.monitoring.hits(since=since)
    return counts_of(hits, since)
