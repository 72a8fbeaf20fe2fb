"""Requests, their open targets, and the counts the risk factors need."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.tables import open_targets, requests
from thawgate.domain.clauses import Approval
from thawgate.domain.decision import Decision, plan_from_dicts
from thawgate.domain.request import Evidence, Request


class RequestRepository:
    def __init__(self, conn: sa.Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows

    def get(self, request_id: str, *, for_update: bool = False) -> Request | None:
        q = sa.select(requests).where(requests.c.id == request_id)
        if for_update and self.lock_rows:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return None if row is None else _request(row)

    def get_many(self, request_ids: list[str], *, for_update: bool = False) -> dict[str, Request]:
        if not request_ids:
            return {}
        q = sa.select(requests).where(requests.c.id.in_(request_ids))
        if for_update and self.lock_rows:
            q = q.with_for_update()
        return {row.id: _request(row) for row in self.conn.execute(q.order_by(requests.c.id))}

    def facts(self, request_id: str) -> dict[str, Any]:
        q = sa.select(requests.c.facts).where(requests.c.id == request_id)
        return dict(self.conn.execute(q).scalar_one())

    def by_idempotency_key(self, requester: str, key: str) -> Request | None:
        q = sa.select(requests).where(
            requests.c.requester == requester, requests.c.idempotency_key == key
        )
        row = self.conn.execute(q).first()
        return None if row is None else _request(row)

    def add(self, request: Request, facts: dict[str, Any]) -> None:
        self.conn.execute(
            sa.insert(requests).values(**_row(request), facts=facts, reasons=queue_reasons(facts))
        )

    def save(self, request: Request, facts: dict[str, Any] | None = None) -> bool:
        """Compare-and-swap on the request's version; bumps it on success."""
        expected = request.version
        values = _row(request) | {"version": expected + 1}
        if facts is not None:
            values["facts"] = facts
            values["reasons"] = queue_reasons(facts)
        result = self.conn.execute(
            sa.update(requests)
            .where(requests.c.id == request.id, requests.c.version == expected)
            .values(**values)
        )
        if result.rowcount == 1:
            request.version = expected + 1
            return True
        return False

    def save_status(self, request: Request) -> bool:
        """Compare-and-swap only the status columns: for a transition that changed nothing else
        (execution), without rewriting the decision, facts and plan."""
        expected = request.version
        result = self.conn.execute(
            sa.update(requests)
            .where(requests.c.id == request.id, requests.c.version == expected)
            .values(
                status=request.status,
                status_reason=request.status_reason,
                updated_at=request.updated_at or request.created_at,
                version=expected + 1,
            )
        )
        if result.rowcount == 1:
            request.version = expected + 1
            return True
        return False

    def open_request_on(self, target_ids: list[str]) -> str | None:
        q = sa.select(open_targets.c.request_id).where(open_targets.c.target_id.in_(target_ids))
        return self.conn.execute(q).scalars().first()

    def hold_targets(self, request_id: str, target_ids: list[str]) -> None:
        self.conn.execute(
            sa.insert(open_targets),
            [{"target_id": t, "request_id": request_id} for t in target_ids],
        )

    def release_targets_of(self, request_ids: list[str]) -> None:
        if request_ids:
            self.conn.execute(
                sa.delete(open_targets).where(open_targets.c.request_id.in_(request_ids))
            )

    def release_targets(self, request_id: str) -> None:
        self.conn.execute(sa.delete(open_targets).where(open_targets.c.request_id == request_id))

    def search(
        self,
        *,
        status: str | None = None,
        account_id: str | None = None,
        requester: str | None = None,
        limit: int = 50,
        after: tuple[datetime, str] | None = None,
    ) -> list[Request]:
        q = sa.select(requests)
        if status:
            q = q.where(requests.c.status == status)
        if account_id:
            q = q.where(requests.c.account_id == account_id)
        if requester:
            q = q.where(requests.c.requester == requester)
        if after is not None:
            at, rid = after
            q = q.where(
                sa.or_(
                    requests.c.created_at < at,
                    sa.and_(requests.c.created_at == at, requests.c.id < rid),
                )
            )
        q = q.order_by(requests.c.created_at.desc(), requests.c.id.desc()).limit(limit)
        return [_request(r) for r in self.conn.execute(q)]

    def requesters_of_account(self, account_id: str) -> frozenset[str]:
        q = sa.select(requests.c.requester).where(requests.c.account_id == account_id).distinct()
        return frozenset(self.conn.execute(q).scalars())

    def count_on_account(self, account_id: str, statuses: tuple[str, ...], since: datetime) -> int:
        q = sa.select(sa.func.count()).where(
            requests.c.account_id == account_id,
            requests.c.status.in_(statuses),
            requests.c.created_at >= since,
        )
        return int(self.conn.execute(q).scalar_one())

    def count_by_requester(self, requester: str, since: datetime, until: datetime) -> int:
        q = sa.select(sa.func.count()).where(
            requests.c.requester == requester,
            requests.c.created_at >= since,
            requests.c.created_at < until,
        )
        return int(self.conn.execute(q).scalar_one())

    def requester_volume(
        self, requester: str, day_start: datetime, now: datetime
    ) -> tuple[int, int]:
        """(requests today, requests in the 30 days before today), in one query."""
        month_start = day_start - timedelta(days=30)
        today = sa.func.sum(sa.case((requests.c.created_at >= day_start, 1), else_=0))
        before = sa.func.sum(sa.case((requests.c.created_at < day_start, 1), else_=0))
        q = sa.select(today, before).where(
            requests.c.requester == requester,
            requests.c.created_at >= month_start,
            requests.c.created_at <= now,
        )
        row = self.conn.execute(q).one()
        return int(row[0] or 0), int(row[1] or 0)

    def requester_volume_many(
        self, requesters: list[str], day_start: datetime, now: datetime
    ) -> dict[str, tuple[int, int]]:
        out = dict.fromkeys(requesters, (0, 0))
        if not requesters:
            return out
        month_start = day_start - timedelta(days=30)
        today = sa.func.sum(sa.case((requests.c.created_at >= day_start, 1), else_=0))
        before = sa.func.sum(sa.case((requests.c.created_at < day_start, 1), else_=0))
        q = (
            sa.select(requests.c.requester, today, before)
            .where(
                requests.c.requester.in_(requesters),
                requests.c.created_at >= month_start,
                requests.c.created_at <= now,
            )
            .group_by(requests.c.requester)
        )
        for requester, t, b in self.conn.execute(q):
            out[requester] = (int(t or 0), int(b or 0))
        return out

    def requester_history(
        self, requester: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, tuple[str, ...]]]:
        """(filed at, who approved it) for the requester's requests filed in [since, until)."""
        q = sa.select(requests.c.created_at, requests.c.approvals).where(
            requests.c.requester == requester,
            requests.c.created_at >= since,
            requests.c.created_at < until,
        )
        return [
            (row.created_at, tuple(str(a["principal"]) for a in row.approvals or ()))
            for row in self.conn.execute(q)
        ]

    def requester_history_many(
        self, requesters: list[str], since: datetime, until: datetime
    ) -> dict[str, list[tuple[datetime, tuple[str, ...]]]]:
        """`requester_history` for several requesters in one query."""
        out: dict[str, list[tuple[datetime, tuple[str, ...]]]] = {r: [] for r in requesters}
        if not requesters:
            return out
        q = sa.select(requests.c.requester, requests.c.created_at, requests.c.approvals).where(
            requests.c.requester.in_(requesters),
            requests.c.created_at >= since,
            requests.c.created_at < until,
        )
        for row in self.conn.execute(q):
            approvers = tuple(str(a["principal"]) for a in row.approvals or ())
            out[row.requester].append((row.created_at, approvers))
        return out

    def count_on_accounts(
        self, account_ids: list[str], statuses: tuple[str, ...], since: datetime
    ) -> dict[str, int]:
        out = dict.fromkeys(account_ids, 0)
        if not account_ids:
            return out
        q = (
            sa.select(requests.c.account_id, sa.func.count())
            .where(
                requests.c.account_id.in_(account_ids),
                requests.c.status.in_(statuses),
                requests.c.created_at >= since,
            )
            .group_by(requests.c.account_id)
        )
        for account_id, n in self.conn.execute(q):
            out[account_id] = int(n)
        return out

    def due_for_expiry(self, now: datetime, pending_hours: int, limit: int = 100) -> list[str]:
        q = (
            sa.select(requests.c.id)
            .where(
                requests.c.status.in_(("pending_approval", "needs_info")),
                requests.c.created_at <= now - timedelta(hours=pending_hours),
            )
            .limit(limit)
        )
        return list(self.conn.execute(q).scalars())


def queue_reasons(facts: dict[str, Any]) -> str:
    """The targets' restriction reasons (thaw) or binding types (unbind) as " A B ", so that
    `LIKE '% A %'` finds one."""
    decided = facts.get("decision_facts") or facts
    found = [*(decided.get("reasons") or ()), *(decided.get("binding_types") or ())]
    return f" {' '.join(sorted(str(r) for r in found))} " if found else ""


def _row(r: Request) -> dict[str, Any]:
    created = r.created_at
    return {
        "id": r.id,
        "kind": r.kind,
        "account_id": r.account_id,
        "targets": list(r.targets),
        "status": r.status,
        "status_reason": r.status_reason,
        "requester": r.requester,
        "ticket": r.ticket,
        "justification": r.justification,
        "evidence": [e.as_dict() for e in r.evidence],
        "duration_hours": r.duration_hours,
        "created_at": created,
        "updated_at": r.updated_at or created,
        "evidence_as_of": r.evidence_as_of or created,
        "decision": r.decision.as_dict(),
        "plan": [op.as_dict() for op in r.decision.plan],
        "state_digest": r.state_digest,
        "approvals": [a.as_dict() for a in r.approvals],
        "stale_count": r.stale_count,
        "version": r.version,
        "idempotency_key": r.idempotency_key,
        "body_sha256": r.body_hash,
        "risk_score": r.decision.risk.score,
    }


def _request(row: Any) -> Request:
    plan = plan_from_dicts(list(row.plan))
    return Request(
        id=row.id,
        kind=row.kind,
        account_id=row.account_id,
        targets=list(row.targets),
        requester=row.requester,
        justification=row.justification,
        evidence=[
            Evidence(e["type"], e["reference"], datetime.fromisoformat(e["observed_at"]))
            for e in row.evidence
        ],
        created_at=row.created_at,
        decision=Decision.from_dict(dict(row.decision), plan),
        state_digest=row.state_digest,
        ticket=row.ticket,
        duration_hours=row.duration_hours,
        status=row.status,
        status_reason=row.status_reason,
        updated_at=row.updated_at,
        evidence_as_of=row.evidence_as_of,
        approvals=[
            Approval(
                principal=a["principal"],
                role=a["role"],
                team=a["team"],
                at=datetime.fromisoformat(a["at"]),
                comment=a["comment"],
                state_digest=a["state_digest"],
                break_glass=bool(a.get("break_glass", False)),
            )
            for a in row.approvals
        ],
        stale_count=row.stale_count,
        version=row.version,
        idempotency_key=row.idempotency_key,
        body_hash=row.body_sha256,
    )
