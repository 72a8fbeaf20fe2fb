"""Console logins: argon2 passwords, a throttle against guessing, and sessions that end.

A console session is a bearer token (services/identity.py) that only the signed session cookie
carries. Logging out deletes the token, so a copied cookie dies with the session. Failed logins
are counted in the database, per username and per client address, so every server process
throttles alike; each failure and each success is audited.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import TooManyAttempts, Unauthenticated
from thawgate.domain.model import Principal
from thawgate.services import identity
from thawgate.services.env import Env

THROTTLE_WINDOW = timedelta(minutes=15)
USER_LIMIT = 5  # failures per username within the window
ADDRESS_LIMIT = 20  # failures per client address within the window
BAD_LOGIN = "unknown username or wrong password"


def login(
    uow: UnitOfWork,
    env: Env,
    *,
    username: str,
    password: str,
    client: str,
    ttl: timedelta,
) -> tuple[Principal, str]:
    """The principal and a new session token; refused while the throttle holds."""
    keys = [f"user:{username}"[:256], f"ip:{client}"[:256]]
    with uow:
        now = env.clock()
        failures = uow.console.login_failures(keys, now - THROTTLE_WINDOW)
        if failures.get(keys[0], 0) >= USER_LIMIT or failures.get(keys[1], 0) >= ADDRESS_LIMIT:
            _event(uow, env, username, "principal:login:throttled", {"client": client})
            uow.commit()
            raise TooManyAttempts("too many failed logins; wait 15 minutes or ask an access admin")
    found = identity.check_password(uow, principal_id=username, password=password)
    if found is None:
        with uow:
            uow.console.add_login_failure(keys, env.clock())
            _event(uow, env, username, "principal:login:failed", {"client": client})
            uow.commit()
        raise Unauthenticated(BAD_LOGIN)
    with uow:
        now = env.clock()
        principal = uow.principals.get(found.id, as_of=now)
        if principal is None or not principal.active:
            raise Unauthenticated(BAD_LOGIN)
        token = identity.TOKEN_PREFIX + secrets.token_urlsafe(32)
        uow.principals.add_token(principal.id, identity.token_digest(token), now, now + ttl)
        uow.console.forget_login_failures(keys[0])
        _event(uow, env, principal.id, "principal:login:succeeded", {"client": client})
        uow.commit()
        return principal, token


def logout(uow: UnitOfWork, env: Env, *, principal: Principal, token: str) -> None:
    with uow:
        uow.principals.delete_token(identity.token_digest(token))
        _event(uow, env, principal.id, "principal:logout", {})
        uow.commit()


def _event(uow: UnitOfWork, env: Env, who: str, action: str, data: dict[str, object]) -> None:
    uow.audit.append(
        at=env.clock(),
        actor=who[:128] or "anonymous",
        action=action,
        subject=f"principal:{who}"[:256],
        data=data,
    )
