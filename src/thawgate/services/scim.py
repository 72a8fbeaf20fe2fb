"""`thawgate principals sync FILE`: provision principals from an IdP's SCIM 2.0 export.

Creates, updates and deactivates principals in one transaction, audited change by change. It
never grants a role: a new principal has none, and a `role:<role>` group at most *proposes* a
grant (with `propose_roles`), which a second access admin must approve as any other.

- Matching: by the IdP's user id once linked, else by `userName` = principal id (an existing
  load-file principal with that id is then linked). A later change of `userName` does not rename
  the principal: ids are permanent in the audit log.
- Deactivation: `active: false` deactivates, and voids the principal's approvals on open
  requests as a suspension does. With `full`, a linked principal absent from the file is
  deactivated too; principals never linked to the IdP (load-file and service principals) are
  never touched by absence.
- Re-activation: never by sync. Turning access back on raises privilege; it is left to an
  operator, and the summary counts such principals as `left inactive`.
- Team moves of role holders: held. A team decides what a principal may request (Cedar's thaw
  matrix), what they may read (need to know) and which team they count for under floor item 4,
  so moving someone who holds a role (in the load file or by a grant) changes authority; sync
  leaves the team as it is, audits `principal:team-change:held` and reports it. The move is made
  in the load file (audited), or by sync once the roles are revoked. A principal without roles
  moves freely.
- Dry run: everything is computed in the transaction, which is then rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from thawgate.adapters.db.scim_repo import Provisioned
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain import scim as scim_format
from thawgate.domain.errors import ValidationFailed
from thawgate.domain.grants import max_duration
from thawgate.domain.model import Principal
from thawgate.policy.authz import SystemResource
from thawgate.services.approval_backing import void_for_principal
from thawgate.services.env import Env, authorize
from thawgate.services.grants import GRANTS, propose_in

PRINCIPALS = SystemResource("principals")


@dataclass(slots=True)
class SyncReport:
    dry_run: bool
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    left_inactive: int = 0
    proposed: int = 0
    held: int = 0
    changes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = (
            f"sync: {self.created} created, {self.updated} updated, "
            f"{self.deactivated} deactivated, {self.unchanged} unchanged, "
            f"{self.left_inactive} left inactive, {self.proposed} grants proposed"
        )
        if self.held:
            line += f", {self.held} team moves held"
        return line + (" (dry run: nothing written)" if self.dry_run else "")


def sync(
    uow: UnitOfWork,
    env: Env,
    *,
    actor: Principal,
    document: Any,
    full: bool = False,
    dry_run: bool = False,
    propose_roles: bool = False,
    grant_days: int = 30,
) -> SyncReport:
    users = scim_format.parse(document)  # a bad file is refused before anything is written
    if grant_days < 1:
        raise ValidationFailed("grant_days: at least 1", field="grant_days")
    report = SyncReport(dry_run=dry_run)
    with uow:
        authorize(
            uow,
            env,
            principal=actor,
            action="sync_principals",
            resource=PRINCIPALS,
            subject="principals",
        )
        if propose_roles:
            authorize(
                uow, env, principal=actor, action="propose_grant", resource=GRANTS, subject="grants"
            )
        now = env.clock()
        current = uow.scim.everyone()
        linked = {p.scim_id: p for p in current.values() if p.scim_id}
        seen: set[str] = set()
        for u in users:
            existing = linked.get(u.scim_id) or current.get(u.principal_id)
            if existing is not None and existing.scim_id not in (None, u.scim_id):
                raise ValidationFailed(
                    f"user {u.principal_id}: principal {existing.id} is linked to another IdP "
                    f"user ({existing.scim_id})"
                )
            if existing is None:
                if not u.active:
                    report.unchanged += 1
                    continue
                if u.team is None:
                    raise ValidationFailed(
                        f"user {u.principal_id}: in no team group (team:<team>); "
                        "a new principal needs a team"
                    )
                uow.scim.create(
                    pid=u.principal_id, name=u.name, team=u.team, scim_id=u.scim_id, now=now
                )
                _event(uow, actor, "principal:created", u.principal_id, now,
                       name=u.name, team=u.team, scim_id=u.scim_id)  # fmt: skip
                report.created += 1
                report.changes.append(f"created {u.principal_id} ({u.team})")
                pid = u.principal_id
            else:
                pid = existing.id
                if _update(uow, actor, report, existing, u, now):
                    _deactivate(uow, env, actor, report, pid, now, why="active: false in the IdP")
            seen.add(pid)
            if propose_roles and u.active:
                _propose(uow, env, actor, report, pid, u, timedelta(days=grant_days))
        if full:
            for p in current.values():
                if p.scim_id and p.id not in seen and p.active:
                    _deactivate(uow, env, actor, report, p.id, now, why="absent from a full sync")
        uow.audit.append(
            at=now,
            actor=actor.id,
            action="principals:synced",
            subject="principals",
            data={"summary": report.summary(), "full": full, "users": len(users)},
        )
        if dry_run:
            uow.rollback()
        else:
            uow.commit()
    return report


def _update(
    uow: UnitOfWork,
    actor: Principal,
    report: SyncReport,
    existing: Provisioned,
    u: scim_format.ScimUser,
    now: datetime,
) -> bool:
    """Apply name and team; True when the principal must be deactivated."""
    team = u.team or existing.team
    held = False
    if team != existing.team:
        holder = uow.principals.get(existing.id, as_of=now)
        if holder is not None and holder.roles:
            held = True
            roles = sorted(holder.roles)
            _event(uow, actor, "principal:team-change:held", existing.id, now,
                   team=existing.team, requested=team, roles=roles)  # fmt: skip
            report.held += 1
            report.changes.append(
                f"held {existing.id}: team {existing.team} -> {team} (holds {', '.join(roles)}; "
                "move it in the load file, or revoke the roles first)"
            )
            team = existing.team
    changed = {
        k: v
        for k, v, old in (
            ("name", u.name, existing.name),
            ("team", team, existing.team),
            ("scim_id", u.scim_id, existing.scim_id),
        )
        if v != old
    }
    if changed:
        uow.scim.update(existing.id, name=u.name, team=team, scim_id=u.scim_id)
        _event(uow, actor, "principal:updated", existing.id, now, **changed)
        report.updated += 1
        report.changes.append(f"updated {existing.id}: {', '.join(sorted(changed))}")
    if not u.active and existing.active:
        return True
    if u.active and not existing.active:
        report.left_inactive += 1
        report.changes.append(f"left inactive {existing.id} (re-activation is not sync's)")
    elif not changed and not held:
        report.unchanged += 1
    return False


def _deactivate(
    uow: UnitOfWork,
    env: Env,
    actor: Principal,
    report: SyncReport,
    pid: str,
    now: datetime,
    *,
    why: str,
) -> None:
    uow.principals.set_active(pid, active=False)
    voided = void_for_principal(uow, env, pid, actor=actor.id)
    _event(uow, actor, "principal:deactivated", pid, now, why=why, voided_requests=voided)
    report.deactivated += 1
    report.changes.append(f"deactivated {pid} ({why})")


def _propose(
    uow: UnitOfWork,
    env: Env,
    actor: Principal,
    report: SyncReport,
    pid: str,
    u: scim_format.ScimUser,
    days: timedelta,
) -> None:
    now = env.clock()
    held = uow.principals.get(pid, as_of=now)
    pending = {g.role for g in uow.grants.of_principal(pid) if g.status == "pending"}
    for role in sorted(u.roles_asked):
        if held is None or role in held.roles or role in pending:
            continue
        propose_in(
            uow,
            env,
            actor=actor,
            principal_id=pid,
            role=role,
            expires_at=now + min(days, max_duration(role)),
            justification=f"SCIM group role:{role} (proposed by sync; needs a second admin)",
            source="scim",
        )
        report.proposed += 1
        report.changes.append(f"proposed {role} for {pid}")


def _event(
    uow: UnitOfWork, actor: Principal, action: str, pid: str, now: datetime, **data: object
) -> None:
    uow.audit.append(
        at=now, actor=actor.id, action=action, subject=f"principal:{pid}", data=dict(data)
    )
