"""Role grants: propose, approve (the second key), revoke, suspend, lapse, and read."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import Conflict, NotFound, ValidationFailed
from thawgate.domain.grants import Grant, check_grantable
from thawgate.domain.model import Principal
from thawgate.policy.authz import SystemResource
from thawgate.services.approval_backing import void_for_principal
from thawgate.services.env import Env, authorize, floor_refusals_audited

GRANTS = SystemResource("grants")


@dataclass(frozen=True, slots=True)
class RoleHeld:
    role: str
    grant_id: str | None  # None: from the load file
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class PrincipalView:
    principal: Principal
    roles: list[RoleHeld]


def propose(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    principal_id: str,
    role: str,
    expires_at: datetime,
    justification: str,
) -> Grant:
    with uow:
        authorize(
            uow,
            env,
            principal=actor,
            action="propose_grant",
            resource=GRANTS,
            subject=f"principal:{principal_id}",
        )
        grant = propose_in(
            uow,
            env,
            actor=actor,
            principal_id=principal_id,
            role=role,
            expires_at=expires_at,
            justification=justification,
        )
        uow.commit()
        return grant


def propose_in(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    principal_id: str,
    role: str,
    expires_at: datetime,
    justification: str,
    **extra: object,
) -> Grant:
    """Propose inside the caller's (authorized) transaction: a grant, or SCIM sync's proposal."""
    now = env.clock()
    if uow.principals.get(principal_id) is None:  # an unknown id in a body: 422 (API.md)
        raise ValidationFailed(f"principal: no principal {principal_id}", field="principal")
    check_grantable(role=role, expires_at=expires_at, now=now)
    grant = Grant(
        id=env.ids("grant"),
        principal_id=principal_id,
        role=role,
        justification=justification,
        expires_at=expires_at,
        proposed_by=actor.id,
        proposed_at=now,
    )
    uow.grants.add(grant)
    _event(uow, grant, actor=actor.id, action="grant:proposed", at=now, **extra)
    return grant


def approve(uow: UnitOfWork, env: Env, *, actor: Principal, grant_id: str, comment: str) -> Grant:
    with uow:
        grant = load_for(uow, env, actor=actor, action="approve_grant", grant_id=grant_id)
        now = env.clock()
        with refusal_audited(uow, env, actor=actor, grant=grant):
            grant.approve(by=actor.id, at=now)
        save(uow, grant)
        _event(uow, grant, actor=actor.id, action="grant:approved", at=now, comment=comment)
        uow.commit()
        return grant


def revoke(uow: UnitOfWork, env: Env, *, actor: Principal, grant_id: str, comment: str) -> Grant:
    """One key. The principal's next call no longer carries the role; their approvals that
    relied on it are voided in this same transaction."""
    with uow:
        grant = load_for(uow, env, actor=actor, action="revoke_grant", grant_id=grant_id)
        revoke_in(uow, env, grant, actor=actor, comment=comment)
        uow.commit()
        return grant


def revoke_in(
    uow: UnitOfWork, env: Env, grant: Grant, *, actor: Principal, comment: str, **extra: object
) -> None:
    """Revoke inside the caller's transaction (a revocation, or an access review's verdict)."""
    now = env.clock()
    grant.revoke(by=actor.id, at=now, reason=comment)
    save(uow, grant)
    voided = void_for_principal(uow, env, grant.principal_id, actor=actor.id)
    _event(
        uow,
        grant,
        actor=actor.id,
        action="grant:revoked",
        at=now,
        comment=comment,
        voided_requests=voided,
        **extra,
    )


def suspend(
    uow: UnitOfWork, env: Env, *, actor: Principal, principal_id: str, comment: str
) -> Principal:
    """One key: all access stops at once, and every approval on an open request is voided."""
    with uow:
        authorize(
            uow,
            env,
            principal=actor,
            action="suspend_principal",
            resource=GRANTS,
            subject=f"principal:{principal_id}",
        )
        now = env.clock()
        if not uow.principals.set_active(principal_id, active=False):
            raise NotFound(f"no principal {principal_id}")
        voided = void_for_principal(uow, env, principal_id, actor=actor.id)
        uow.audit.append(
            at=now,
            actor=actor.id,
            action="principal:suspended",
            subject=f"principal:{principal_id}",
            data={"comment": comment, "voided_requests": voided},
        )
        principal = uow.principals.get(principal_id, as_of=now)
        uow.commit()
    assert principal is not None  # noqa: S101  # set_active found the row in this transaction
    return principal


def lapse_expired(uow: UnitOfWork, env: Env) -> int:
    """Scheduler: mark grants past their expiry, and void what relied on them."""
    with uow:
        now = env.clock()
        ids = uow.grants.due_to_expire(now)
        for grant_id in ids:
            grant = _load(uow, grant_id)
            grant.expire(now)
            save(uow, grant)
            voided = void_for_principal(uow, env, grant.principal_id, actor="system")
            _event(
                uow, grant, actor="system", action="grant:expired", at=now, voided_requests=voided
            )
        uow.commit()
        return len(ids)


def view_principal(
    uow: UnitOfWork, env: Env, *, actor: Principal, principal_id: str
) -> PrincipalView:
    """A principal and the roles it holds now. Anyone may read their own."""
    with uow:
        if actor.id != principal_id:
            authorize(
                uow,
                env,
                principal=actor,
                action="read_grants",
                resource=GRANTS,
                subject=f"principal:{principal_id}",
            )
        now = env.clock()
        stored = uow.principals.get(principal_id)
        if stored is None:
            raise NotFound(f"no principal {principal_id}")
        held = [RoleHeld(role, None, None) for role in sorted(stored.roles)]
        held += [
            RoleHeld(g.role, g.id, g.expires_at)
            for g in uow.grants.of_principal(principal_id)
            if g.is_effective(now)
        ]
        return PrincipalView(principal=stored, roles=held)


def list_grants(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    status: str | None = None,
    principal_id: str | None = None,
) -> list[Grant]:
    """Grants, by role then id; access admins and auditors (`read_grants`)."""
    with uow:
        authorize(
            uow, env, principal=actor, action="read_grants", resource=GRANTS, subject="grants"
        )
        if principal_id is not None:
            found = uow.grants.of_principal(principal_id)
            return [g for g in found if status is None or g.status == status]
        if status is not None:
            return uow.grants.with_status(status)
        return [g for s in GRANT_STATUSES for g in uow.grants.with_status(s)]


GRANT_STATUSES = ("pending", "active", "revoked", "expired")


def load_for(uow: UnitOfWork, env: Env, *, actor: Principal, action: str, grant_id: str) -> Grant:
    """The grant, locked for the change, once Cedar lets `actor` take `action` on grants."""
    authorize(
        uow, env, principal=actor, action=action, resource=GRANTS, subject=f"grant:{grant_id}"
    )
    return _load(uow, grant_id)


def refusal_audited(
    uow: UnitOfWork, env: Env, *, actor: Principal, grant: Grant
) -> AbstractContextManager[None]:
    """A separation-of-duties refusal of a step on `grant` is audited before it is raised."""
    return floor_refusals_audited(uow, env, actor=actor, subject=f"grant:{grant.id}")


def _load(uow: UnitOfWork, grant_id: str) -> Grant:
    grant = uow.grants.get(grant_id, for_update=True)
    if grant is None:
        raise NotFound(f"no grant {grant_id}")
    return grant


def save(uow: UnitOfWork, grant: Grant) -> None:
    if not uow.grants.save(grant):
        raise Conflict(f"grant {grant.id} changed concurrently; retry")


def _event(
    uow: UnitOfWork, grant: Grant, *, actor: str, action: str, at: datetime, **extra: object
) -> None:
    uow.audit.append(
        at=at,
        actor=actor,
        action=action,
        subject=f"grant:{grant.id}",
        data={
            "grant_id": grant.id,
            "principal": grant.principal_id,
            "role": grant.role,
            "status": grant.status,
            "expires_at": grant.expires_at.isoformat(),
            "proposed_by": grant.proposed_by,
            "justification": grant.justification,
            **extra,
        },
    )
