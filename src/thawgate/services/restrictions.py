"""Placing and amending restrictions, and ingesting account events."""

from __future__ import annotations

from datetime import datetime

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import Conflict, NotFound, ValidationFailed
from thawgate.domain.model import AccountEvent, Principal, Restriction
from thawgate.policy.authz import AccountResource, RestrictionResource
from thawgate.services import monitoring
from thawgate.services.env import Env, authorize


def place(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    account_id: str,
    scope: str,
    reason: str,
    note: str | None = None,
    expires_at: datetime | None = None,
) -> Restriction:
    with uow:
        if not uow.accounts.exists(account_id):
            raise NotFound(f"no account {account_id}")
        authorize(
            uow,
            env,
            principal=actor,
            action="place_restriction",
            subject=f"account:{account_id}",
            resource=AccountResource(id=account_id, requesters=frozenset()),
        )
        now = env.clock()
        if expires_at is not None and expires_at <= now:
            raise ValidationFailed("expires_at: must be in the future", field="expires_at")
        r = Restriction(
            id=env.ids("rst"),
            account_id=account_id,
            scope=scope,
            reason=reason,
            placed_by=actor.id,
            placed_at=now,
            expires_at=expires_at,
            note=note,
        )
        uow.accounts.add_restriction(r, now)
        uow.audit.append(
            at=now,
            actor=actor.id,
            action="restriction:placed",
            subject=r.id,
            data={
                "account_id": account_id,
                "scope": scope,
                "reason": reason,
                "expires_at": None if expires_at is None else expires_at.isoformat(),
            },
        )
        uow.commit()
        return r


def amend(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    account_id: str,
    restriction_id: str,
    reason: str | None,
    scope: str | None,
    note: str | None,
) -> Restriction:
    """Raise the class or widen the scope; bumps the version, so approvals on it go stale."""
    with uow:
        r = uow.accounts.restriction(restriction_id)
        if r is None or r.account_id != account_id:
            raise NotFound(f"no restriction {restriction_id} on account {account_id}")
        authorize(
            uow,
            env,
            principal=actor,
            action="amend_restriction",
            subject=r.id,
            resource=RestrictionResource(id=r.id, account_id=account_id, reason=r.reason),
        )
        version, old = r.version, {"reason": r.reason, "scope": r.scope}
        changed = r.amend(by=actor.id, reason=reason, scope=scope, note=note)
        if changed:
            now = env.clock()
            if not uow.accounts.save_restriction(r, expected_version=version, now=now):
                raise Conflict("restriction changed concurrently; retry")
            uow.audit.append(
                at=now,
                actor=actor.id,
                action="restriction:amended",
                subject=r.id,
                data={
                    "changed": changed,
                    "before": old,
                    "after": {"reason": r.reason, "scope": r.scope},
                    "version": r.version,
                },
            )
        uow.commit()
        return r


def ingest_events(
    uow: UnitOfWork, env: Env, *, actor: Principal, account_id: str, events: list[AccountEvent]
) -> int:
    with uow:
        if not uow.accounts.exists(account_id):
            raise NotFound(f"no account {account_id}")
        authorize(
            uow,
            env,
            principal=actor,
            action="ingest_events",
            subject=f"account:{account_id}",
            resource=AccountResource(id=account_id, requesters=frozenset()),
        )
        # Post-thaw monitoring, in this transaction: a hit commits with the events or not at all.
        windows = monitoring.open_windows(uow, env, account_id=account_id, events=events)
        n = uow.accounts.add_events(account_id, events, env.clock())
        monitoring.watch(uow, env, windows=windows)
        uow.commit()
        return n
