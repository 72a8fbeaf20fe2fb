"""When a grant's role last authorized something (access reviews show it), recorded cheaply.

`env.authorize` calls `note_use` on every allow. The roles the deciding Cedar permits tested
(`Authorizer.roles_relied_on`) are written to the matching active grants' `last_used_at`, at
most once a minute per principal and role per process: an authorization costs a dictionary
look-up almost always. The write joins the caller's transaction (it lands with the action) or,
for a read-only one, takes a short transaction of its own.
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime, timedelta

import sqlalchemy as sa

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.model import Principal
from thawgate.policy.authz import Authorizer, AuthzDecision

EVERY = timedelta(minutes=1)
# Per database (engine), per (principal, role): when this process last wrote a use.
_seen: weakref.WeakKeyDictionary[sa.Engine, dict[tuple[str, str], datetime]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def note_use(
    uow: UnitOfWork,
    authorizer: Authorizer,
    principal: Principal,
    decision: AuthzDecision,
    now: datetime,
) -> None:
    roles = authorizer.roles_relied_on(decision, principal.roles)
    if not roles:
        return
    due = []
    with _lock:
        seen = _seen.setdefault(uow.engine, {})
        for role in roles:
            key = (principal.id, role)
            last = seen.get(key)
            if last is None or now - last >= EVERY or now < last:
                seen[key] = now
                due.append(role)
    if not due:
        return
    if not uow.readonly:
        uow.grants.touch(principal.id, due, now)
        return
    with UnitOfWork(uow.engine) as own:
        own.grants.touch(principal.id, due, now)
        own.commit()
