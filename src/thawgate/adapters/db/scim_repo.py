"""Principals as SCIM sync sees them: linked to the IdP's user id (`principals.scim_id`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from thawgate.adapters.db.tables import principals


@dataclass(frozen=True, slots=True)
class Provisioned:
    id: str
    name: str
    team: str
    active: bool
    scim_id: str | None


class ScimRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def everyone(self) -> dict[str, Provisioned]:
        """Every principal, by id (a sync compares the whole directory)."""
        q = sa.select(
            principals.c.id,
            principals.c.name,
            principals.c.team,
            principals.c.active,
            principals.c.scim_id,
        )
        return {
            r.id: Provisioned(r.id, r.name, r.team, r.active, r.scim_id)
            for r in self.conn.execute(q)
        }

    def create(self, *, pid: str, name: str, team: str, scim_id: str, now: datetime) -> None:
        """A new principal with no roles: sync never grants one."""
        self.conn.execute(
            sa.insert(principals).values(
                id=pid, name=name, team=team, roles=[], active=True, created_at=now, scim_id=scim_id
            )
        )

    def update(self, pid: str, *, name: str, team: str, scim_id: str) -> None:
        self.conn.execute(
            sa.update(principals)
            .where(principals.c.id == pid)
            .values(name=name, team=team, scim_id=scim_id)
        )
