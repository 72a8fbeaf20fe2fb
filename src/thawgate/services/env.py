"""What every use case is handed besides its unit of work: clock, ids, policy, authorization."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from thawgate.adapters.accounts.local import LocalAccountSystem
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import Forbidden, SeparationOfDuties
from thawgate.domain.model import Principal
from thawgate.domain.need_to_know import shown_policy_ids
from thawgate.policy.authz import Actor, Authorizer, AuthzDecision, Resource
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services.grant_use import note_use  # grants' last use, for access reviews
from thawgate.services.ports import AccountSystem

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


@dataclass
class Env:
    """Injected collaborators. `policies` maps a version to its loaded pack."""

    authorizer: Authorizer
    policies: dict[str, RequestPolicy]
    active_version: str
    clock: Clock = utc_now
    ids: Callable[[str], str] = new_id
    job_max_attempts: int = 5
    backoff_scale: float = 1.0
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)
    remote_accounts: AccountSystem | None = None
    # Follows the database's active policy version (services/policy_admin.ActivePolicyWatch).
    policy_watch: Callable[[Env], None] | None = None

    def account_system(self, uow: UnitOfWork, now: datetime | None = None) -> AccountSystem:
        """The configured account system: a remote one, else Thawgate's own tables."""
        if self.remote_accounts is not None:
            return self.remote_accounts
        return LocalAccountSystem(uow.accounts, now or self.clock())

    @property
    def policy(self) -> RequestPolicy:
        if self.policy_watch is not None:
            self.policy_watch(self)
        return self.policies[self.active_version]

    def fault_point(self, name: str) -> None:
        """A named point where tests may inject a crash. Does nothing in production."""
        hook = self.hooks.get(name)
        if hook is not None:
            hook()


def actor_of(p: Principal) -> Actor:
    return Actor(id=p.id, team=p.team, roles=p.roles, active=p.active)


def authorize(
    uow: UnitOfWork,
    env: Env,
    *,
    principal: Principal,
    action: str,
    resource: Resource,
    subject: str,
) -> AuthzDecision:
    """Ask Cedar; on a deny, audit the refusal, commit it, and raise Forbidden."""
    decision = env.authorizer.authorize(actor_of(principal), action, resource)
    if not decision.allowed:
        refuse(
            uow,
            env,
            principal=principal,
            subject=subject,
            slug="forbidden",
            data={
                "action": action,
                "policies": list(decision.policy_ids),
                "errors": list(decision.errors),
            },
        )
        shown = replace(decision, policy_ids=shown_policy_ids(principal, decision.policy_ids))
        raise Forbidden(f"{action} refused: {shown.explain()}", shown.policy_ids)
    note_use(uow, env.authorizer, principal, decision, env.clock())
    return decision


def refuse(
    uow: UnitOfWork,
    env: Env,
    *,
    principal: Principal,
    subject: str,
    slug: str,
    data: dict[str, object],
) -> None:
    """Record a refused attempt in its own commit: refusals are audited too."""
    uow.rollback()
    with UnitOfWork(uow.engine) as tx:
        tx.audit.append(
            at=env.clock(), actor=principal.id, action=f"refused:{slug}", subject=subject, data=data
        )
        tx.commit()


@contextmanager
def floor_refusals_audited(
    uow: UnitOfWork, env: Env, *, actor: Principal, subject: str
) -> Iterator[None]:
    """A separation-of-duties refusal is recorded (in its own commit) before it is raised."""
    try:
        yield
    except SeparationOfDuties as exc:
        refuse(
            uow,
            env,
            principal=actor,
            subject=subject,
            slug="separation-of-duties",
            data={"floor_item": exc.floor_item, "detail": exc.detail},
        )
        raise
