"""Accounts, restrictions, bindings and account events: the `local` account system's tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from thawgate.adapters.db.tables import account_events, accounts, bindings, restrictions
from thawgate.domain.catalog import NON_LIFTABLE_REASONS
from thawgate.domain.model import Account, AccountEvent, Binding, Restriction


class AccountRepository:
    def __init__(self, conn: sa.Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows

    def exists(self, account_id: str) -> bool:
        row = self.conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id))
        return row.first() is not None

    def get(self, account_id: str) -> Account | None:
        q = sa.select(accounts).where(accounts.c.id == account_id)
        if self.lock_rows:
            q = q.with_for_update()  # one writer per account: intake, review and execution
        row = self.conn.execute(q).first()
        if row is None:
            return None
        rq = sa.select(restrictions).where(restrictions.c.account_id == account_id)
        bq = sa.select(bindings).where(bindings.c.account_id == account_id)
        if self.lock_rows:
            rq, bq = rq.with_for_update(), bq.with_for_update()
        return Account(
            id=row.id,
            created_at=row.created_at,
            restrictions=[
                _restriction(r) for r in self.conn.execute(rq.order_by(restrictions.c.placed_at))
            ],
            bindings=[_binding(b) for b in self.conn.execute(bq.order_by(bindings.c.bound_at))],
        )

    def get_many(self, account_ids: list[str]) -> dict[str, Account]:
        """Several accounts with their restrictions and bindings, in three queries."""
        if not account_ids:
            return {}
        aq = sa.select(accounts).where(accounts.c.id.in_(account_ids))
        rq = sa.select(restrictions).where(restrictions.c.account_id.in_(account_ids))
        bq = sa.select(bindings).where(bindings.c.account_id.in_(account_ids))
        if self.lock_rows:
            aq, rq, bq = aq.with_for_update(), rq.with_for_update(), bq.with_for_update()
        found = {
            row.id: Account(id=row.id, created_at=row.created_at)
            for row in self.conn.execute(aq.order_by(accounts.c.id))
        }
        for row in self.conn.execute(rq.order_by(restrictions.c.placed_at)):
            found[row.account_id].restrictions.append(_restriction(row))
        for row in self.conn.execute(bq.order_by(bindings.c.bound_at)):
            found[row.account_id].bindings.append(_binding(row))
        return found

    def events_many(self, account_ids: list[str], since: datetime) -> dict[str, list[AccountEvent]]:
        out: dict[str, list[AccountEvent]] = {a: [] for a in account_ids}
        if not account_ids:
            return out
        q = (
            sa.select(account_events)
            .where(account_events.c.account_id.in_(account_ids), account_events.c.at >= since)
            .order_by(account_events.c.at, account_events.c.id)
        )
        for r in self.conn.execute(q):
            out[r.account_id].append(event_of(r))
        return out

    def linked_restricted_many(self, account_ids: list[str]) -> dict[str, int]:
        """`linked_restricted` for several accounts in one query."""
        out = dict.fromkeys(account_ids, 0)
        if not account_ids:
            return out
        me = account_events.alias("me")
        other = account_events.alias("other")

        def pairs(column: str) -> sa.Select[tuple[str, str]]:
            return (
                sa.select(me.c.account_id.label("mine"), other.c.account_id.label("theirs"))
                .join(other, other.c[column] == me.c[column])
                .where(
                    me.c.account_id.in_(account_ids),
                    other.c.account_id != me.c.account_id,
                    me.c[column].is_not(None),
                )
            )

        linked = sa.union(pairs("device"), pairs("ip")).subquery()
        q = (
            sa.select(linked.c.mine, sa.func.count(sa.distinct(restrictions.c.account_id)))
            .join(restrictions, restrictions.c.account_id == linked.c.theirs)
            .where(restrictions.c.status == "active")
            .group_by(linked.c.mine)
        )
        for mine, n in self.conn.execute(q):
            out[mine] = int(n)
        return out

    def add(self, account_id: str, created_at: datetime) -> None:
        self.conn.execute(sa.insert(accounts).values(id=account_id, created_at=created_at))

    def restriction(self, restriction_id: str) -> Restriction | None:
        q = sa.select(restrictions).where(restrictions.c.id == restriction_id)
        row = self.conn.execute(q).first()
        return None if row is None else _restriction(row)

    def add_restriction(
        self, r: Restriction, now: datetime, *, placed_by_request: str | None = None
    ) -> None:
        self.conn.execute(
            sa.insert(restrictions).values(
                **_restriction_row(r), changed_at=now, placed_by_request=placed_by_request
            )
        )

    def binding(self, binding_id: str) -> Binding | None:
        row = self.conn.execute(sa.select(bindings).where(bindings.c.id == binding_id)).first()
        return None if row is None else _binding(row)

    def sync_target(self, state_id: str, version: int, status: str, now: datetime) -> None:
        """Mirror what the account system reports for a target (the `http` adapter's truth)."""
        for table in (restrictions, bindings):
            self.conn.execute(
                sa.update(table)
                .where(table.c.id == state_id)
                .values(version=version, status=status, changed_at=now)
            )

    def add_placer(self, restriction_id: str, principal_id: str) -> None:
        r = self.restriction(restriction_id)
        if r is not None and principal_id not in r.placers:
            self.conn.execute(
                sa.update(restrictions)
                .where(restrictions.c.id == restriction_id)
                .values(placers=[*r.placers, principal_id])
            )

    def mark_lifted_by(self, restriction_id: str, request_id: str) -> None:
        self.conn.execute(
            sa.update(restrictions)
            .where(restrictions.c.id == restriction_id)
            .values(lifted_by_request=request_id)
        )

    def placed_by_request(self, request_id: str) -> list[Restriction]:
        q = sa.select(restrictions).where(restrictions.c.placed_by_request == request_id)
        return [_restriction(r) for r in self.conn.execute(q)]

    def lifted_by_request(self, request_id: str) -> list[Restriction]:
        q = sa.select(restrictions).where(restrictions.c.lifted_by_request == request_id)
        return [_restriction(r) for r in self.conn.execute(q)]

    def add_binding(self, b: Binding, now: datetime) -> None:
        self.conn.execute(
            sa.insert(bindings).values(
                id=b.id,
                account_id=b.account_id,
                type=b.type,
                status=b.status,
                bound_at=b.bound_at,
                version=b.version,
                changed_at=now,
            )
        )

    def save_restriction(
        self, r: Restriction, *, expected_version: int, now: datetime, lifted_by: str | None = None
    ) -> bool:
        """Compare-and-swap on the version it was read at. False when someone got there first."""
        values = _restriction_row(r) | {"changed_at": now}
        if lifted_by is not None:
            values["lifted_by_request"] = lifted_by
        result = self.conn.execute(
            sa.update(restrictions)
            .where(restrictions.c.id == r.id, restrictions.c.version == expected_version)
            .values(**values)
        )
        return result.rowcount == 1

    def lift_if_at(
        self, restriction_id: str, expected_version: int, *, now: datetime, lifted_by: str
    ) -> bool:
        """Lift an active, liftable restriction at exactly this version. False if it is not."""
        result = self.conn.execute(
            sa.update(restrictions)
            .where(
                restrictions.c.id == restriction_id,
                restrictions.c.version == expected_version,
                restrictions.c.status == "active",
                restrictions.c.reason.not_in(sorted(NON_LIFTABLE_REASONS)),
            )
            .values(
                status="lifted",
                version=expected_version + 1,
                changed_at=now,
                lifted_by_request=lifted_by,
            )
        )
        return result.rowcount == 1

    def save_binding(self, b: Binding, *, expected_version: int, now: datetime) -> bool:
        result = self.conn.execute(
            sa.update(bindings)
            .where(bindings.c.id == b.id, bindings.c.version == expected_version)
            .values(status=b.status, version=b.version, changed_at=now)
        )
        return result.rowcount == 1

    def add_events(self, account_id: str, events: Iterable[AccountEvent], now: datetime) -> int:
        rows = [
            {
                "account_id": account_id,
                "type": e.type,
                "at": e.at,
                "received_at": e.received_at or now,
                "ip": e.ip,
                "country": e.country,
                "device": e.device,
                "amount_usd": e.amount_usd,
                "address": e.address,
            }
            for e in events
        ]
        if rows:
            self.conn.execute(sa.insert(account_events), rows)
        return len(rows)

    def events(self, account_id: str, since: datetime | None = None) -> list[AccountEvent]:
        q = sa.select(account_events).where(account_events.c.account_id == account_id)
        if since is not None:
            q = q.where(account_events.c.at >= since)
        rows = self.conn.execute(q.order_by(account_events.c.at, account_events.c.id))
        return [event_of(r) for r in rows]

    def linked_restricted(self, account_id: str) -> int:
        """Other accounts sharing a device or IP with this one that are under active restriction.

        Two indexed joins (device, then IP) in a UNION: an OR in one join defeats the indexes.
        """
        me = account_events.alias("me")
        other = account_events.alias("other")

        def sharing(column: str) -> sa.Select[tuple[str]]:
            return (
                sa.select(other.c.account_id)
                .join(me, me.c[column] == other.c[column])
                .where(
                    me.c.account_id == account_id,
                    other.c.account_id != account_id,
                    me.c[column].is_not(None),
                )
            )

        linked = sa.union(sharing("device"), sharing("ip")).subquery()
        q = sa.select(sa.func.count(sa.distinct(restrictions.c.account_id))).where(
            restrictions.c.account_id.in_(sa.select(linked.c.account_id)),
            restrictions.c.status == "active",
        )
        return int(self.conn.execute(q).scalar_one())

    def due_restrictions(self, now: datetime, limit: int = 100) -> list[Restriction]:
        q = (
            sa.select(restrictions)
            .where(restrictions.c.status == "active", restrictions.c.expires_at <= now)
            .limit(limit)
        )
        return [_restriction(r) for r in self.conn.execute(q)]


def _restriction_row(r: Restriction) -> dict[str, Any]:
    return {
        "id": r.id,
        "account_id": r.account_id,
        "scope": r.scope,
        "reason": r.reason,
        "status": r.status,
        "placed_by": r.placed_by,
        "placed_at": r.placed_at,
        "expires_at": r.expires_at,
        "note": r.note,
        "placers": list(r.placers),
        "version": r.version,
    }


def _restriction(row: Any) -> Restriction:
    return Restriction(
        id=row.id,
        account_id=row.account_id,
        scope=row.scope,
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        status=row.status,
        expires_at=row.expires_at,
        note=row.note,
        version=row.version,
        placers=list(row.placers),
    )


def _binding(row: Any) -> Binding:
    return Binding(
        id=row.id,
        account_id=row.account_id,
        type=row.type,
        bound_at=row.bound_at,
        status=row.status,
        version=row.version,
    )


def event_of(r: Any) -> AccountEvent:
    """An `account_events` row as the domain's AccountEvent."""
    return AccountEvent(
        type=r.type,
        at=r.at,
        ip=r.ip,
        country=r.country,
        device=r.device,
        amount_usd=r.amount_usd,
        address=r.address,
        received_at=r.received_at,
    )
