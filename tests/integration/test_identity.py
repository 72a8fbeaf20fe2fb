"""Bearer tokens: random, stored only as SHA-256, and they expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.integration.conftest import Clock
from tests.integration.helpers import who

from thawgate.bootstrap import App
from thawgate.domain.errors import Unauthenticated
from thawgate.domain.model import Principal
from thawgate.services import identity


def test_a_token_works_until_it_expires(loaded: App, clock: Clock) -> None:
    token = identity.issue_token(
        loaded.uow(), loaded.env, principal_id="fay", ttl=timedelta(hours=1)
    )
    assert identity.authenticate(loaded.uow(), loaded.env, token).id == "fay"
    clock.advance(minutes=61)
    with pytest.raises(Unauthenticated, match="expired"):
        identity.authenticate(loaded.uow(), loaded.env, token)


def test_tokens_are_stored_only_as_hashes(loaded: App) -> None:
    token = identity.issue_token(
        loaded.uow(), loaded.env, principal_id="fay", ttl=timedelta(hours=1)
    )
    with loaded.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_sha256 FROM api_tokens")).scalars().all()
    assert stored == [identity.token_digest(token)]
    assert token not in stored


def test_a_suspended_principal_is_unauthenticated(loaded: App) -> None:
    token = identity.issue_token(
        loaded.uow(), loaded.env, principal_id="fay", ttl=timedelta(hours=1)
    )
    fay = who(loaded, "fay")
    with loaded.uow() as uow:
        uow.principals.upsert(
            Principal(id=fay.id, name=fay.name, team=fay.team, roles=fay.roles, active=False),
            loaded.env.clock(),
        )
        uow.commit()
    with pytest.raises(Unauthenticated):
        identity.authenticate(loaded.uow(), loaded.env, token)
    with pytest.raises(Unauthenticated):
        identity.authenticate(loaded.uow(), loaded.env, "tg_made_up")


def test_console_passwords_are_argon2(loaded: App) -> None:
    identity.set_password(
        loaded.uow(), loaded.env, principal_id="fay", password="correct horse battery"
    )
    with loaded.uow(readonly=True) as uow:
        stored = uow.principals.password_hash("fay")
    assert stored is not None
    assert stored.startswith("$argon2")
    assert (
        identity.check_password(loaded.uow(), principal_id="fay", password="correct horse battery")
        is not None
    )
    assert identity.check_password(loaded.uow(), principal_id="fay", password="wrong") is None
