"""Stored policy versions: draft -> active -> retired, and back to draft to re-activate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.tables import policy_versions, requests


@dataclass(frozen=True, slots=True)
class StoredVersion:
    version: str
    sha256: str
    document: str
    status: str
    created_by: str
    created_at: datetime
    proposed_by: str | None
    activated_by: str | None
    activated_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    id: str
    outcome: str
    facts: dict[str, Any]
    evidence: list[dict[str, Any]]
    plan: list[dict[str, Any]]


class PolicyVersionRepository:
    def __init__(self, conn: sa.Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows

    def get(self, version: str, *, for_update: bool = False) -> StoredVersion | None:
        q = sa.select(policy_versions).where(policy_versions.c.version == version)
        if for_update and self.lock_rows:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return None if row is None else _version(row)

    def active(self) -> str | None:
        q = sa.select(policy_versions.c.version).where(policy_versions.c.status == "active")
        return self.conn.execute(q).scalars().first()

    def add_draft(self, *, version: str, sha256: str, document: str, by: str, at: datetime) -> None:
        self.conn.execute(
            sa.insert(policy_versions).values(
                version=version,
                sha256=sha256,
                document=document,
                status="draft",
                created_by=by,
                created_at=at,
                proposed_by=by,
                proposed_at=at,
            )
        )

    def redraft(self, version: str, *, by: str, at: datetime) -> bool:
        """A retired version proposed for re-activation."""
        result = self.conn.execute(
            sa.update(policy_versions)
            .where(policy_versions.c.version == version, policy_versions.c.status == "retired")
            .values(status="draft", proposed_by=by, proposed_at=at)
        )
        return result.rowcount == 1

    def activate(self, version: str, *, previous: str | None, by: str, at: datetime) -> bool:
        """Retire `previous` and activate `version`, each guarded on its current status."""
        if previous is not None:
            retired = self.conn.execute(
                sa.update(policy_versions)
                .where(policy_versions.c.version == previous, policy_versions.c.status == "active")
                .values(status="retired")
            )
            if retired.rowcount != 1:
                return False
        result = self.conn.execute(
            sa.update(policy_versions)
            .where(policy_versions.c.version == version, policy_versions.c.status == "draft")
            .values(status="active", activated_by=by, activated_at=at)
        )
        return result.rowcount == 1

    def all(self) -> list[StoredVersion]:
        q = sa.select(policy_versions).order_by(policy_versions.c.created_at)
        return [_version(r) for r in self.conn.execute(q)]

    def recorded_requests(self) -> list[RecordedRequest]:
        q = sa.select(
            requests.c.id,
            requests.c.decision,
            requests.c.facts,
            requests.c.evidence,
            requests.c.plan,
        ).order_by(requests.c.created_at, requests.c.id)
        return [
            RecordedRequest(
                id=r.id,
                outcome=str(r.decision.get("outcome")),
                facts=dict(r.facts),
                evidence=list(r.evidence),
                plan=list(r.plan),
            )
            for r in self.conn.execute(q)
        ]


def _version(row: Any) -> StoredVersion:
    return StoredVersion(
        version=row.version,
        sha256=row.sha256,
        document=row.document,
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        proposed_by=row.proposed_by,
        activated_by=row.activated_by,
        activated_at=row.activated_at,
    )
