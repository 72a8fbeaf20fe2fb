"""The console's reads and its two small tables (claims, login failures).

The queue filters run on columns, not JSON, so they stay fast with tens of thousands of pending
requests: status, kind, the requester's team (joined), the copied risk score, the copied target
reasons and the filing time.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from thawgate.adapters.db.tables import (
    audit_events,
    jobs,
    login_failures,
    principals,
    request_claims,
    requests,
)

SORTS = {
    "oldest": (requests.c.created_at.asc(), requests.c.id.asc()),
    "newest": (requests.c.created_at.desc(), requests.c.id.desc()),
    "risk": (requests.c.risk_score.desc(), requests.c.created_at.asc()),
    "account": (requests.c.account_id.asc(), requests.c.created_at.asc()),
}


@dataclass(frozen=True, slots=True)
class QueueFilter:
    statuses: tuple[str, ...] = ("pending_approval",)
    kind: str | None = None
    reason: str | None = None
    team: str | None = None
    min_score: int | None = None
    max_score: int | None = None  # inclusive
    filed_before: datetime | None = None  # "older than"
    requester: str | None = None


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: str
    kind: str
    account_id: str
    status: str
    requester: str
    team: str
    risk_score: int
    reasons: tuple[str, ...]
    created_at: datetime
    claimed_by: str | None
    claim_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: dict[str, Any]


class ConsoleRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------ the queue

    def _where(self, f: QueueFilter, *, with_status: bool = True) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        if with_status and f.statuses:
            out.append(requests.c.status.in_(f.statuses))
        if f.kind:
            out.append(requests.c.kind == f.kind)
        if f.reason:
            out.append(requests.c.reasons.like(f"% {f.reason} %"))
        if f.team:
            out.append(principals.c.team == f.team)
        if f.min_score is not None:
            out.append(requests.c.risk_score >= f.min_score)
        if f.max_score is not None:
            out.append(requests.c.risk_score <= f.max_score)
        if f.filed_before is not None:
            out.append(requests.c.created_at < f.filed_before)
        if f.requester:
            out.append(requests.c.requester == f.requester)
        return out

    def _joined(self) -> sa.Join:
        return requests.join(principals, principals.c.id == requests.c.requester).outerjoin(
            request_claims, request_claims.c.request_id == requests.c.id
        )

    def queue(self, f: QueueFilter, *, sort: str, offset: int, limit: int) -> list[QueueRow]:
        q = (
            sa.select(
                requests.c.id,
                requests.c.kind,
                requests.c.account_id,
                requests.c.status,
                requests.c.requester,
                principals.c.team,
                requests.c.risk_score,
                requests.c.reasons,
                requests.c.created_at,
                request_claims.c.principal_id,
                request_claims.c.expires_at,
            )
            .select_from(self._joined())
            .where(*self._where(f))
            .order_by(*SORTS[sort])
            .offset(offset)
            .limit(limit)
        )
        return [
            QueueRow(
                id=r.id,
                kind=r.kind,
                account_id=r.account_id,
                status=r.status,
                requester=r.requester,
                team=r.team,
                risk_score=r.risk_score,
                reasons=tuple(r.reasons.split()),
                created_at=r.created_at,
                claimed_by=r.principal_id,
                claim_expires_at=r.expires_at,
            )
            for r in self.conn.execute(q)
        ]

    def status_counts(self, f: QueueFilter) -> dict[str, int]:
        """How many requests match the other filters, per status."""
        q = (
            sa.select(requests.c.status, sa.func.count())
            .select_from(requests.join(principals, principals.c.id == requests.c.requester))
            .where(*self._where(f, with_status=False))
            .group_by(requests.c.status)
        )
        return {status: int(n) for status, n in self.conn.execute(q)}

    def teams(self) -> list[str]:
        return list(self.conn.execute(sa.select(principals.c.team).distinct()).scalars())

    # ------------------------------------------------------------------ claims

    def claim(self, request_id: str, principal_id: str, now: datetime, until: datetime) -> bool:
        """Take the claim when nobody holds it, it lapsed, or this principal holds it. Two
        first claims at once: the insert of the second waits for the first and does nothing,
        and its update then finds the claim held (no unique-key error)."""
        insert: Any = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        first = self.conn.execute(
            insert(request_claims)
            .values(
                request_id=request_id, principal_id=principal_id, claimed_at=now, expires_at=until
            )
            .on_conflict_do_nothing(index_elements=["request_id"])
        )
        if first.rowcount == 1:
            return True
        result = self.conn.execute(
            sa.update(request_claims)
            .where(
                request_claims.c.request_id == request_id,
                sa.or_(
                    request_claims.c.principal_id == principal_id,
                    request_claims.c.expires_at <= now,
                ),
            )
            .values(principal_id=principal_id, claimed_at=now, expires_at=until)
        )
        return result.rowcount == 1

    def release(self, request_id: str, principal_id: str) -> bool:
        result = self.conn.execute(
            sa.delete(request_claims).where(
                request_claims.c.request_id == request_id,
                request_claims.c.principal_id == principal_id,
            )
        )
        return result.rowcount == 1

    def claim_of(self, request_id: str) -> tuple[str, datetime] | None:
        row = self.conn.execute(
            sa.select(request_claims.c.principal_id, request_claims.c.expires_at).where(
                request_claims.c.request_id == request_id
            )
        ).first()
        return None if row is None else (row.principal_id, row.expires_at)

    def random_eligible(
        self, *, reviewer: str, excluded_requesters: set[str], now: datetime, sample: int
    ) -> list[str]:
        """Up to `sample` pending requests, in random order, that nobody else holds and that
        neither the reviewer nor an excluded requester filed."""
        q = (
            sa.select(requests.c.id)
            .select_from(
                requests.outerjoin(request_claims, request_claims.c.request_id == requests.c.id)
            )
            .where(
                requests.c.status == "pending_approval",
                requests.c.requester != reviewer,
                sa.or_(
                    request_claims.c.request_id.is_(None),
                    request_claims.c.expires_at <= now,
                    request_claims.c.principal_id == reviewer,
                ),
            )
            .order_by(sa.func.random())
            .limit(sample)
        )
        if excluded_requesters:
            q = q.where(requests.c.requester.not_in(sorted(excluded_requesters)))
        return list(self.conn.execute(q).scalars())

    def approvals_by(self, reviewer: str, since: datetime) -> Counter[str]:
        """How many requests of each requester this reviewer approved since then."""
        q = sa.select(requests.c.requester, requests.c.approvals).where(
            requests.c.updated_at >= since
        )
        counts: Counter[str] = Counter()
        for row in self.conn.execute(q):
            for a in row.approvals or ():
                if a.get("principal") == reviewer and _at(a.get("at")) >= since:
                    counts[row.requester] += 1
        return counts

    # ------------------------------------------------------------------ login throttle

    def add_login_failure(self, keys: list[str], at: datetime) -> None:
        self.conn.execute(sa.insert(login_failures), [{"key": k, "at": at} for k in keys])

    def login_failures(self, keys: list[str], since: datetime) -> dict[str, int]:
        q = (
            sa.select(login_failures.c.key, sa.func.count())
            .where(login_failures.c.key.in_(keys), login_failures.c.at >= since)
            .group_by(login_failures.c.key)
        )
        return {k: int(n) for k, n in self.conn.execute(q)}

    def forget_login_failures(self, key: str) -> None:
        self.conn.execute(sa.delete(login_failures).where(login_failures.c.key == key))

    # ------------------------------------------------------------------ audit and dashboard

    def audit_events(
        self,
        *,
        actor: str | None,
        subject: str | None,
        action: str | None,
        before_seq: int | None,
        limit: int,
    ) -> list[AuditRow]:
        q = sa.select(audit_events)
        if actor:
            q = q.where(audit_events.c.actor == actor)
        if subject:
            q = q.where(audit_events.c.subject == subject)
        if action:
            q = q.where(audit_events.c.action.like(f"{action}%"))
        if before_seq is not None:
            q = q.where(audit_events.c.seq < before_seq)
        rows = self.conn.execute(q.order_by(audit_events.c.seq.desc()).limit(limit))
        return [AuditRow(r.seq, r.at, r.actor, r.action, r.subject, _data(r.data)) for r in rows]

    def requests_since(self, since: datetime) -> list[tuple[str, str, datetime, datetime, str]]:
        """(status, team, filed at, last changed at, stale count > 0 as "1"/"0")."""
        q = (
            sa.select(
                requests.c.status,
                principals.c.team,
                requests.c.created_at,
                requests.c.updated_at,
                requests.c.stale_count,
            )
            .select_from(requests.join(principals, principals.c.id == requests.c.requester))
            .where(requests.c.created_at >= since)
        )
        return [
            (r.status, r.team, r.created_at, r.updated_at, "1" if r.stale_count else "0")
            for r in self.conn.execute(q)
        ]

    def job_counts(self) -> dict[str, int]:
        q = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
        return {status: int(n) for status, n in self.conn.execute(q)}


def _at(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _data(value: object) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str | bytes) else value
    return dict(loaded) if isinstance(loaded, dict) else {}
