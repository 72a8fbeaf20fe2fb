"""Principals and their bearer tokens (stored only as SHA-256).

Given a moment (`as_of`, or the token check's `now`), a principal comes back with its effective
roles: its load-file roles plus its active, unexpired grants. Without one, only the load-file
roles (what `upsert` writes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.grants_repo import GrantRepository
from thawgate.adapters.db.snapshot import statement_snapshot
from thawgate.adapters.db.tables import api_tokens, grants, principals
from thawgate.domain.grants import with_roles
from thawgate.domain.model import Principal


class PrincipalRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def get(self, principal_id: str, *, as_of: datetime | None = None) -> Principal | None:
        row = self.conn.execute(
            sa.select(principals).where(principals.c.id == principal_id)
        ).first()
        return None if row is None else self._effective([_principal(row)], as_of)[0]

    def get_many(
        self, principal_ids: list[str], *, as_of: datetime | None = None
    ) -> dict[str, Principal]:
        if not principal_ids:
            return {}
        q = sa.select(principals).where(principals.c.id.in_(principal_ids))
        found = self._effective([_principal(row) for row in self.conn.execute(q)], as_of)
        return {p.id: p for p in found}

    def _effective(self, found: list[Principal], as_of: datetime | None) -> list[Principal]:
        if as_of is None or not found:
            return found
        granted = GrantRepository(self.conn, lock_rows=False).granted_roles(
            [p.id for p in found], as_of
        )
        return [with_roles(p, p.roles | granted[p.id]) if p.id in granted else p for p in found]

    def upsert(self, p: Principal, now: datetime) -> bool:
        """Insert or update by id. True when something changed."""
        current = self.get(p.id)
        values = {"name": p.name, "team": p.team, "roles": sorted(p.roles), "active": p.active}
        if current is None:
            self.conn.execute(sa.insert(principals).values(id=p.id, created_at=now, **values))
            return True
        if current == p:
            return False
        self.conn.execute(sa.update(principals).where(principals.c.id == p.id).values(**values))
        return True

    def set_password_hash(self, principal_id: str, password_hash: str) -> None:
        self.conn.execute(
            sa.update(principals)
            .where(principals.c.id == principal_id)
            .values(password_hash=password_hash)
        )

    def password_hash(self, principal_id: str) -> str | None:
        q = sa.select(principals.c.password_hash).where(principals.c.id == principal_id)
        return self.conn.execute(q).scalar_one_or_none()

    def add_token(
        self, principal_id: str, token_sha256: str, now: datetime, expires_at: datetime
    ) -> None:
        self.conn.execute(
            sa.insert(api_tokens).values(
                token_sha256=token_sha256,
                principal_id=principal_id,
                created_at=now,
                expires_at=expires_at,
            )
        )

    def by_token(self, token_sha256: str, now: datetime) -> Principal | None:
        """The token's principal with its effective roles. Every API call asks this, so it is
        one statement, built once, and run without a transaction of its own (snapshot.py)."""
        with statement_snapshot(self.conn):
            rows = self.conn.execute(_BY_TOKEN, {"token": token_sha256, "now": now}).all()
        if not rows:
            return None
        found = _principal(rows[0])
        granted = {row.granted_role for row in rows if row.granted_role is not None}
        return with_roles(found, found.roles | granted) if granted else found

    def delete_token(self, token_sha256: str) -> None:
        self.conn.execute(sa.delete(api_tokens).where(api_tokens.c.token_sha256 == token_sha256))

    def set_active(self, principal_id: str, *, active: bool) -> bool:
        result = self.conn.execute(
            sa.update(principals).where(principals.c.id == principal_id).values(active=active)
        )
        return result.rowcount == 1

    def all(self) -> list[Principal]:
        return [
            _principal(r)
            for r in self.conn.execute(sa.select(principals).order_by(principals.c.id))
        ]


# The token's principal, one row per active, unexpired grant (or one row with none).
_BY_TOKEN = (
    sa.select(principals, grants.c.role.label("granted_role"))
    .join(api_tokens, api_tokens.c.principal_id == principals.c.id)
    .outerjoin(
        grants,
        sa.and_(
            grants.c.principal_id == principals.c.id,
            grants.c.status == "active",
            grants.c.expires_at > sa.bindparam("now"),
        ),
    )
    .where(
        api_tokens.c.token_sha256 == sa.bindparam("token"),
        api_tokens.c.expires_at > sa.bindparam("now"),
    )
)


def _principal(row: Any) -> Principal:
    return Principal(
        id=row.id, name=row.name, team=row.team, roles=frozenset(row.roles), active=row.active
    )
