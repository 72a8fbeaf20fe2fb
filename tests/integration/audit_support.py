"""Helpers for the audit-log tests: a signing key and witness of the test's own, a real log made
by the services, checkpoints, verification, and a copy of the log an attacker may rewrite."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from tests.integration.conftest import Clock
from tests.integration.helpers import approve, drain, submit, who

from thawgate.adapters.audit.signer import generate_key_file, signature_check
from thawgate.adapters.db.engine import make_engine
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.bootstrap import App
from thawgate.domain.checkpoint import SignedCheckpoint
from thawgate.domain.errors import Forbidden
from thawgate.domain.log_verifier import Report
from thawgate.entrypoints import audit_wiring
from thawgate.services import audit_log, audit_verify, identity, loader, restrictions

ORIGIN = "test.thawgate/audit"
AUDIT_TABLES = ("audit_events", "audit_nodes", "audit_checkpoints", "audit_head")
# A copy on PostgreSQL also carries the grants: authorizing a read of the copy records the
# reader's grant use there (services/grant_use.py).
COPIED_TABLES = (*AUDIT_TABLES, "grants")


def with_audit_key(app: App, directory: Path) -> App:
    """Point the app at a key and a witness file in `directory`, and add an auditor."""
    app.settings = app.settings.model_copy(
        update={
            "audit_key_file": directory / "audit-ed25519.pem",
            "checkpoint_file": directory / "witness.jsonl",
            "audit_origin": ORIGIN,
        }
    )
    generate_key_file(app.settings.audit_key_file)
    loader.load_world(
        app.uow(),
        app.env,
        {"principals": [{"id": "audrey", "team": "compliance", "roles": ["auditor"]}]},
    )
    return app


def sign(app: App) -> SignedCheckpoint | None:
    signer = audit_wiring.signer(app.settings)
    return audit_log.issue_checkpoint(
        app.uow(),
        signer=signer,
        witness=audit_wiring.witness(app.settings),
        signature_ok=signature_check(signer.public_key),
        at=app.env.clock(),
    )


def verify(app: App, engine: sa.Engine | None = None, *, batch: int = audit_verify.BATCH) -> Report:
    """`thawgate audit verify`, on the app's database or on a copy of it."""
    uow = app.uow if engine is None else (lambda: UnitOfWork(engine))
    return audit_verify.verify_database(
        uow,
        key=audit_wiring.trusted_key(app.settings),
        read_witness=audit_wiring.witness(app.settings).read,
        batch=batch,
    )


def size(app: App) -> int:
    with app.uow(readonly=True) as uow:
        return uow.audit.size()


def make_log(app: App, clock: Clock, *, rounds: int = 6, tail: int = 7) -> list[int]:
    """A real log from the services: thaws requested, approved and executed, restrictions
    placed, refused attempts, tokens. A checkpoint after each round; `tail` events after the
    last. Returns the checkpoint sizes."""
    placer, alice = who(app, "placer"), who(app, "alice")
    sizes = []
    for n in range(rounds):
        for i in range(12):
            clock.advance(seconds=1.25)
            restrictions.place(
                app.uow(), app.env, actor=placer, account_id=f"A{1 + i % 3}",
                scope="trade", reason="ATO_SUSPECTED", note=f"round {n}, {i} \u2014 \u9501",
            )  # fmt: skip
        with contextlib.suppress(Forbidden):  # refused, and the refusal audited
            restrictions.place(
                app.uow(), app.env, actor=alice, account_id="A1", scope="withdraw",
                reason="ATO_SUSPECTED",
            )  # fmt: skip
        if n == 1:
            r = submit(app, "alice", "A1", ["r-ato"])
            approve(app, "fay", r.id, r.state_digest)
            drain(app)
        identity.issue_token(app.uow(), app.env, principal_id="fay", ttl=timedelta(hours=1))
        signed = sign(app)
        assert signed is not None
        sizes.append(signed.size)
    for _ in range(tail):
        identity.issue_token(app.uow(), app.env, principal_id="sam", ttl=timedelta(minutes=5))
    return sizes


# --------------------------------------------------------------------------- an attacker's copy


@contextmanager
def log_copy(app: App, tmp_path: Path) -> Iterator[sa.Engine]:
    """A copy of the database's audit tables with their triggers gone: what someone with
    database access, but not the signing key or the witness file, can rewrite at will."""
    if app.engine.dialect.name == "sqlite":
        target = tmp_path / f"copy-{uuid.uuid4().hex[:8]}.db"
        source_path = app.settings.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(source_path) as source, sqlite3.connect(target) as dest:
            source.backup(dest)
            for (name,) in dest.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
                dest.execute(f"DROP TRIGGER {name}")
        engine = make_engine(f"sqlite:///{target}")
        yield engine
        engine.dispose()
        return
    with app.engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    copy = f"{schema}_c{uuid.uuid4().hex[:6]}"
    with app.engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {copy}")
        for table in COPIED_TABLES:  # LIKE copies keys, not triggers nor foreign keys
            conn.exec_driver_sql(
                f"CREATE TABLE {copy}.{table} (LIKE {schema}.{table} INCLUDING ALL)"
            )
            copy_rows = f"INSERT INTO {copy}.{table} SELECT * FROM {schema}.{table}"  # noqa: S608
            conn.exec_driver_sql(copy_rows)  # names from this module, not from input
    engine = make_engine(app.settings.database_url.replace(schema, copy))
    try:
        yield engine
    finally:
        engine.dispose()
        with app.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {copy} CASCADE")
