"""Bearer tokens (random, stored only as SHA-256, expiring) and console passwords (argon2)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.errors import NotFound, Unauthenticated, ValidationFailed
from thawgate.domain.model import Principal
from thawgate.services.env import Env

_HASHER = PasswordHasher()
TOKEN_PREFIX = "tg_"  # noqa: S105  # a visible prefix, not a secret


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(uow: UnitOfWork, env: Env, *, principal_id: str, ttl: timedelta) -> str:
    if ttl <= timedelta(0):
        raise ValidationFailed("ttl: must be positive", field="ttl")
    with uow:
        principal = uow.principals.get(principal_id)
        if principal is None:
            raise NotFound(f"no principal {principal_id}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = env.clock()
        uow.principals.add_token(principal_id, token_digest(token), now, now + ttl)
        uow.audit.append(
            at=now,
            actor="operator",
            action="principal:token:issued",
            subject=f"principal:{principal_id}",
            data={"expires_at": (now + ttl).isoformat()},
        )
        uow.commit()
        return token


def authenticate(uow: UnitOfWork, env: Env, token: str | None) -> Principal:
    if not token:
        raise Unauthenticated("a bearer token is required")
    with uow:
        principal = uow.principals.by_token(token_digest(token), env.clock())
    if principal is None:
        raise Unauthenticated("unknown or expired token")
    if not principal.active:
        raise Unauthenticated("this principal is suspended")
    return principal


def set_password(uow: UnitOfWork, env: Env, *, principal_id: str, password: str) -> None:
    if len(password) < 12:
        raise ValidationFailed("password: at least 12 characters", field="password")
    with uow:
        if uow.principals.get(principal_id) is None:
            raise NotFound(f"no principal {principal_id}")
        uow.principals.set_password_hash(principal_id, _HASHER.hash(password))
        uow.audit.append(
            at=env.clock(),
            actor="operator",
            action="principal:password:set",
            subject=f"principal:{principal_id}",
            data={},
        )
        uow.commit()


def check_password(uow: UnitOfWork, *, principal_id: str, password: str) -> Principal | None:
    with uow:
        stored = uow.principals.password_hash(principal_id)
        principal = uow.principals.get(principal_id)
    if stored is None or principal is None or not principal.active:
        return None
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return principal
