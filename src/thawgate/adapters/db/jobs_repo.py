"""The execution outbox. Workers claim with FOR UPDATE SKIP LOCKED on PostgreSQL and a lease.

On SQLite every writing transaction holds the write lock (BEGIN IMMEDIATE), the single-writer
equivalent. A claim that outlives its lease (a crashed worker) is claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from thawgate.adapters.db.tables import jobs


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    request_id: str
    status: str
    attempts: int
    last_error: str | None


class JobRepository:
    def __init__(self, conn: sa.Connection, *, skip_locked: bool) -> None:
        self.conn = conn
        self.skip_locked = skip_locked

    def enqueue(self, job_id: str, request_id: str, now: datetime) -> None:
        self.conn.execute(
            sa.insert(jobs).values(
                id=job_id,
                request_id=request_id,
                status="queued",
                attempts=0,
                run_after=now,
                created_at=now,
            )
        )

    def exists(self, request_id: str) -> bool:
        q = sa.select(jobs.c.id).where(jobs.c.request_id == request_id)
        return self.conn.execute(q).first() is not None

    def requeue(self, request_id: str, now: datetime) -> None:
        self.conn.execute(
            sa.update(jobs)
            .where(jobs.c.request_id == request_id)
            .values(
                status="queued",
                run_after=now,
                claimed_by=None,
                claimed_until=None,
                last_error=None,
                attempts=0,
            )
        )

    def claim(self, worker: str, now: datetime, lease: timedelta, limit: int) -> list[Job]:
        ready = sa.or_(
            sa.and_(jobs.c.status == "queued", jobs.c.run_after <= now),
            sa.and_(jobs.c.status == "running", jobs.c.claimed_until < now),
        )
        q = sa.select(jobs.c.id).where(ready).order_by(jobs.c.run_after).limit(limit)
        if self.skip_locked:
            q = q.with_for_update(skip_locked=True)
        ids = list(self.conn.execute(q).scalars())
        if not ids:
            return []
        self.conn.execute(
            sa.update(jobs)
            .where(jobs.c.id.in_(ids))
            .values(
                status="running",
                claimed_by=worker,
                claimed_until=now + lease,
                attempts=jobs.c.attempts + 1,
            )
        )
        rows = self.conn.execute(sa.select(jobs).where(jobs.c.id.in_(ids)))
        return [Job(r.id, r.request_id, r.status, r.attempts, r.last_error) for r in rows]

    def finish(self, job_id: str, worker: str, status: str, error: str | None = None) -> bool:
        """Settle a claimed job. False if the claim was lost (the lease ran out and was taken)."""
        result = self.conn.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.claimed_by == worker, jobs.c.status == "running")
            .values(status=status, last_error=error, claimed_until=None)
        )
        return result.rowcount == 1

    def finish_many(self, job_ids: list[str], worker: str) -> bool:
        """Settle a batch as done. False if any claim was lost (then nothing should commit)."""
        result = self.conn.execute(
            sa.update(jobs)
            .where(jobs.c.id.in_(job_ids), jobs.c.claimed_by == worker, jobs.c.status == "running")
            .values(status="done", last_error=None, claimed_until=None)
        )
        return result.rowcount == len(job_ids)

    def retry_later(self, job_id: str, worker: str, run_after: datetime, error: str) -> bool:
        result = self.conn.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.claimed_by == worker, jobs.c.status == "running")
            .values(
                status="queued",
                run_after=run_after,
                last_error=error,
                claimed_by=None,
                claimed_until=None,
            )
        )
        return result.rowcount == 1

    def failed(self) -> list[Job]:
        q = sa.select(jobs).where(jobs.c.status == "failed").order_by(jobs.c.created_at)
        return [
            Job(r.id, r.request_id, r.status, r.attempts, r.last_error)
            for r in self.conn.execute(q)
        ]

    def pending_count(self) -> int:
        q = sa.select(sa.func.count()).where(jobs.c.status.in_(("queued", "running")))
        return int(self.conn.execute(q).scalar_one())
