"""Integration fixtures: a migrated database of this test's own, on SQLite or PostgreSQL.

SQLite by default. With THAWGATE_TEST_DATABASE=postgres, each test gets a fresh schema in the
database named by THAWGATE_TEST_POSTGRES_URL, dropped afterwards, so runs cannot collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from thawgate import bootstrap
from thawgate.adapters.db.engine import make_engine
from thawgate.config import Settings
from thawgate.services import loader

ON_POSTGRES = os.environ.get("THAWGATE_TEST_DATABASE") == "postgres"


class Clock:
    """A clock tests can move."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'thawgate.db'}"
        return
    base = Settings().test_postgres_url
    if not base:
        pytest.fail("THAWGATE_TEST_DATABASE=postgres needs THAWGATE_TEST_POSTGRES_URL")
    schema = f"it_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(database_url: str, clock: Clock) -> Iterator[bootstrap.App]:
    settings = Settings(database_url=database_url)
    engine = make_engine(database_url)
    bootstrap.migrate(settings, engine)
    engine.dispose()
    application = bootstrap.build(settings, clock=clock)
    yield application
    application.engine.dispose()


def t(clock: Clock, **delta: float) -> str:
    return (clock.now - timedelta(**delta)).isoformat()


def world(clock: Clock) -> dict[str, object]:
    """Principals from every team, and accounts for each path through the spine."""
    logins = [
        {
            "type": "login",
            "at": t(clock, days=d),
            "ip": "198.51.100.7",
            "country": "DE",
            "device": "d-home",
        }
        for d in (300, 100, 30, 2)
    ]

    def account(
        aid: str, restrictions: list[tuple[str, str, str]], bindings: list[tuple[str, str]] = ()
    ) -> dict[str, object]:  # type: ignore[assignment]
        return {
            "id": aid,
            "created_at": t(clock, days=400),
            "restrictions": [
                {
                    "id": rid,
                    "scope": scope,
                    "reason": reason,
                    "placed_by": "sec-bot",
                    "placed_at": t(clock, days=5),
                }
                for rid, scope, reason in restrictions
            ],
            "bindings": [{"id": bid, "type": bt} for bid, bt in bindings],
            # each account its own IP and device: no account is linked to another
            "events": [
                dict(e, ip=f"198.51.100.{len(aid)}{aid[-1]}", device=f"d-{aid}") for e in logins
            ],
        }

    return {
        "principals": [
            {"id": "alice", "team": "customer_support", "roles": ["requester"]},
            {"id": "lena", "team": "legal", "roles": ["requester", "legal_reviewer"]},
            {"id": "fay", "team": "fraud_risk", "roles": ["fraud_reviewer"]},
            {"id": "finn", "team": "fraud_risk", "roles": ["fraud_reviewer"]},
            {"id": "sam", "team": "fraud_risk", "roles": ["senior_fraud_reviewer"]},
            {"id": "sec-bot", "team": "security", "roles": ["restriction_placer"]},
            {"id": "placer", "team": "security", "roles": ["restriction_placer"]},
            {"id": "app", "team": "customer_support", "roles": ["self_service"]},
            {"id": "events", "team": "security", "roles": ["event_ingestor"]},
        ],
        "accounts": [
            account("A1", [("r-ato", "withdraw", "ATO_SUSPECTED")], [("b-totp", "TOTP")]),
            account("A2", [("r-law", "full", "LAW_ENFORCEMENT")]),
            account(
                "A3", [("r-ato3", "login", "ATO_SUSPECTED"), ("r-ato3b", "trade", "ATO_SUSPECTED")]
            ),
        ],
    }


@pytest.fixture
def loaded(app: bootstrap.App, clock: Clock) -> bootstrap.App:
    loader.load_world(app.uow(), app.env, world(clock))
    return app


def count_rows(app: bootstrap.App, sql: str, **params: object) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())
