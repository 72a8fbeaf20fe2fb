"""The only place that wires settings -> engine -> unit of work -> services."""

from __future__ import annotations

import logging
import os
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from thawgate.adapters.accounts.http import HttpAccountSystem
from thawgate.adapters.db.engine import make_engine
from thawgate.adapters.db.tables import policy_versions
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.config import Settings
from thawgate.policy.authz import Authorizer
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services.env import Clock, Env, utc_now
from thawgate.services.policy_admin import ActivePolicyWatch

POLICY_FILE = "request_policy.yaml"


class NotInitialised(RuntimeError):
    """The database is missing or behind the code's migrations."""


@dataclass
class App:
    settings: Settings
    engine: sa.Engine
    env: Env

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, readonly=readonly)


def alembic_config(settings: Settings, connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(settings.migrations_dir))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(settings: Settings, engine: sa.Engine) -> None:
    """`alembic upgrade head` on this engine, then register the shipped policy if none is active."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(settings, conn), "head")
    with engine.begin() as conn:
        active = conn.execute(
            sa.select(policy_versions.c.version).where(policy_versions.c.status == "active")
        ).first()
        if active is None:
            pack = RequestPolicy.load((settings.policy_dir / POLICY_FILE).read_text())
            conn.execute(
                sa.insert(policy_versions).values(
                    version=pack.version,
                    sha256=pack.sha256,
                    document=pack.document,
                    status="active",
                    created_by="system",
                    created_at=utc_now(),
                    activated_by="system",
                    activated_at=utc_now(),
                )
            )


def check_schema(settings: Settings, engine: sa.Engine) -> None:
    head = ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise NotInitialised(
            f"the database is at revision {current or 'none'}, the code at {head}: "
            "run `thawgate init`"
        )


def load_policies(engine: sa.Engine) -> tuple[dict[str, RequestPolicy], str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(policy_versions)).all()
    packs = {r.version: RequestPolicy.load(r.document) for r in rows}
    active = [r.version for r in rows if r.status == "active"]
    if not active:
        raise NotInitialised("no active policy version: run `thawgate init`")
    return packs, active[0]


def crash_hooks(spec: str) -> dict[str, Callable[[], None]]:
    """Test-only: fault points where the process SIGKILLs itself with a probability."""
    hooks: dict[str, Callable[[], None]] = {}
    dice = random.Random()  # noqa: S311  # chance of a test crash, not a secret
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, chance = part.partition(":")
        probability = float(chance or 1)

        def crash(p: float = probability) -> None:
            if dice.random() < p:
                os.kill(os.getpid(), signal.SIGKILL)

        hooks[name] = crash
    return hooks


def configure_logging(level: str) -> None:
    """The worker's and the audit ticker's structured log lines below `level` are dropped."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper()))
    )


def build(settings: Settings | None = None, *, clock: Clock = utc_now) -> App:
    settings = settings or Settings()
    settings.check()
    configure_logging(settings.log_level)
    engine = make_engine(
        settings.database_url, ping_after_idle_s=settings.db_ping_after_idle_seconds
    )
    check_schema(settings, engine)
    packs, active = load_policies(engine)
    env = Env(
        authorizer=Authorizer.from_directory(settings.policy_dir),
        policies=packs,
        active_version=active,
        clock=clock,
        job_max_attempts=settings.job_max_attempts,
    )
    env.hooks.update(crash_hooks(settings.fault_crash))
    env.policy_watch = ActivePolicyWatch(engine, settings.policy_refresh_seconds)
    if settings.account_system == "http":
        env.remote_accounts = HttpAccountSystem(
            settings.account_system_url, timeout=settings.account_system_timeout
        )
    return App(settings=settings, engine=engine, env=env)
