"""Post-thaw monitoring: the windows open on an account, their events, and the hits.

Every query is keyed by account id (or reads the hits table for the bad-thaw counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.accounts_repo import event_of
from thawgate.adapters.db.tables import account_events, accounts, monitoring_hits, requests
from thawgate.domain.monitoring import StoredEvent, Window


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    request_id: str
    rule_id: str
    account_id: str
    event_id: int
    event_type: str
    event_at: datetime
    requester: str
    approvers: tuple[str, ...]
    policy_version: str
    alert_id: str
    restriction_id: str | None
    detected_at: datetime


class MonitoringRepository:
    def __init__(self, conn: sa.Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows

    def windows(
        self, account_id: str, *, first_at: datetime, last_at: datetime, hours: int
    ) -> list[Window]:
        """Windows of executed requests on the account that cover some moment of
        [first_at, last_at]. An executed request's `updated_at` is when it was executed
        (`executed` is terminal but for a revert, which changes the status)."""
        span = timedelta(hours=hours)
        q = (
            sa.select(requests.c.id, requests.c.kind, requests.c.requester)
            .add_columns(requests.c.approvals, requests.c.updated_at)
            .where(
                requests.c.account_id == account_id,
                requests.c.status == "executed",
                requests.c.updated_at >= first_at - span,
                requests.c.updated_at <= last_at,
            )
            .order_by(requests.c.updated_at, requests.c.id)
        )
        return [
            Window(
                request_id=r.id,
                account_id=account_id,
                kind=r.kind,
                requester=r.requester,
                approvers=tuple(str(a["principal"]) for a in r.approvals),
                opened_at=r.updated_at,
                closes_at=r.updated_at + span,
            )
            for r in self.conn.execute(q)
        ]

    def lock_account(self, account_id: str) -> None:
        """One monitoring pass per account at a time (PostgreSQL): concurrent ingestions of the
        same account see each other's events and hits instead of racing to the same hit."""
        if self.lock_rows:
            self.conn.execute(
                sa.select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
            )

    def events_between(self, account_id: str, start: datetime, end: datetime) -> list[StoredEvent]:
        q = (
            sa.select(account_events)
            .where(
                account_events.c.account_id == account_id,
                account_events.c.at >= start,
                account_events.c.at <= end,
            )
            .order_by(account_events.c.at, account_events.c.id)
        )
        return [StoredEvent(r.id, event_of(r)) for r in self.conn.execute(q)]

    def countries_before(self, account_id: str, before: datetime) -> frozenset[str]:
        q = (
            sa.select(account_events.c.country)
            .where(
                account_events.c.account_id == account_id,
                account_events.c.at < before,
                account_events.c.country.is_not(None),
            )
            .distinct()
        )
        return frozenset(str(c) for c in self.conn.execute(q).scalars())

    def addresses_added(
        self, account_id: str, addresses: Iterable[str]
    ) -> dict[str, list[datetime]]:
        wanted = sorted(set(addresses))
        out: dict[str, list[datetime]] = {a: [] for a in wanted}
        if not wanted:
            return out
        q = sa.select(account_events.c.address, account_events.c.at).where(
            account_events.c.account_id == account_id,
            account_events.c.type == "withdrawal_address_added",
            account_events.c.address.in_(wanted),
        )
        for address, at in self.conn.execute(q):
            out[address].append(at)
        return out

    def rules_hit(self, request_id: str) -> set[str]:
        q = sa.select(monitoring_hits.c.rule_id).where(monitoring_hits.c.request_id == request_id)
        return set(self.conn.execute(q).scalars())

    def add_hit(self, hit: Hit) -> None:
        self.conn.execute(
            sa.insert(monitoring_hits).values(
                id=hit.id,
                request_id=hit.request_id,
                rule_id=hit.rule_id,
                account_id=hit.account_id,
                event_id=hit.event_id,
                event_type=hit.event_type,
                event_at=hit.event_at,
                requester=hit.requester,
                approvers=list(hit.approvers),
                policy_version=hit.policy_version,
                alert_id=hit.alert_id,
                restriction_id=hit.restriction_id,
                detected_at=hit.detected_at,
            )
        )

    def hits(self, *, since: datetime | None = None, request_id: str | None = None) -> list[Hit]:
        q = sa.select(monitoring_hits).order_by(monitoring_hits.c.detected_at, monitoring_hits.c.id)
        if since is not None:
            q = q.where(monitoring_hits.c.detected_at >= since)
        if request_id is not None:
            q = q.where(monitoring_hits.c.request_id == request_id)
        return [_hit(r) for r in self.conn.execute(q)]


def _hit(r: Any) -> Hit:
    return Hit(
        id=r.id,
        request_id=r.request_id,
        rule_id=r.rule_id,
        account_id=r.account_id,
        event_id=int(r.event_id),
        event_type=r.event_type,
        event_at=r.event_at,
        requester=r.requester,
        approvers=tuple(r.approvers),
        policy_version=r.policy_version,
        alert_id=r.alert_id,
        restriction_id=r.restriction_id,
        detected_at=r.detected_at,
    )
