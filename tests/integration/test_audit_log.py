"""The audit log on a real database: appends grow the tree in the same transaction, the hashed
form round-trips, the tables refuse rewrites, checkpoints are signed and witnessed, the API
serves proofs that verify, and the CLI verifies the database and an export."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import shutil
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import rfc8785
import sqlalchemy as sa
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tests.integration.audit_support import ORIGIN, make_log, sign, size, verify, with_audit_key
from tests.integration.conftest import ON_POSTGRES, Clock
from tests.integration.helpers import approve, status, submit
from typer.testing import CliRunner

from thawgate import bootstrap
from thawgate.adapters.audit.signer import generate_key_file
from thawgate.adapters.db.audit_repo import NewAuditEvent
from thawgate.adapters.db.engine import make_engine
from thawgate.adapters.db.tables import audit_events, audit_head
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.bootstrap import App
from thawgate.config import Settings
from thawgate.domain import merkle
from thawgate.domain.audit_event import UnhashableEvent, canonical_json
from thawgate.domain.checkpoint import parse_body, parse_note
from thawgate.domain.errors import ValidationFailed
from thawgate.entrypoints import audit_wiring
from thawgate.entrypoints.api.app import create_app
from thawgate.entrypoints.cli import app as cli
from thawgate.entrypoints.worker import start_in_thread
from thawgate.policy.authz import Authorizer
from thawgate.services import audit_log, identity
from thawgate.services.env import Env

with warnings.catch_warnings():  # starlette's notice about httpx; the client works as it is
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TRICKY_DATA: list[dict[str, object]] = [
    {"note": "caf\u00e9 \u9501 \U0001f600", "\ue000": 1, "\U0001f600": 2, "a": 3},
    {"big": 2**53 - 1, "neg": -(2**53 - 1), "zero": 0, "t": True, "f": False, "n": None},
    {"controls": 'tab\there\nnew\u0001\u001f\u007f"quote"\\back', "empty": "", "list": []},
    {"nested": {"b": [1, {"c": [None, "x", {"d": {}}]}], "a": "first"}},
    {},
]


@pytest.fixture
def audited(loaded: App, tmp_path: Path) -> App:
    return with_audit_key(loaded, tmp_path)


def leaves_of(app: App) -> dict[int, bytes]:
    with app.uow(readonly=True) as uow:
        n = uow.audit.size()
        return {seq: h for (_, seq), h in uow.audit.tree.nodes((0, s) for s in range(n)).items()}


def jcs_leaf(event: dict[str, object]) -> bytes:
    """What an outside tool computes from an event as the API serves it: RFC 8785, SHA-256."""
    fields = {k: event[k] for k in ("seq", "at", "actor", "action", "subject", "data")}
    return hashlib.sha256(b"\x00" + rfc8785.dumps(fields)).digest()


# --------------------------------------------------------------------------- appending


def test_the_services_log_grows_a_tree_that_hashes_every_event(audited: App, clock: Clock) -> None:
    make_log(audited, clock, rounds=3, tail=4)
    n = size(audited)
    with audited.uow(readonly=True) as uow:
        events = uow.audit.list(limit=n)
        assert [e.seq for e in events] == list(range(n))  # gap-free from 0
        stored = uow.audit.tree.nodes(merkle.Frontier.keys(n))
        assert {e.action for e in events} >= {"refused:forbidden", "request:executed"}
    leaves = leaves_of(audited)
    assert merkle.range_hash(0, n, stored) == merkle.root_from_leaves([leaves[i] for i in range(n)])
    report = verify(audited)
    assert report.ok, report.problems
    assert (report.size, report.checkpoints) == (n, 3)


def test_a_rolled_back_transaction_leaves_no_event_no_node_and_no_gap(audited: App) -> None:
    before = size(audited)
    with audited.uow() as uow:
        uow.audit.append_many(
            [NewAuditEvent(audited.env.clock(), "t", "test:rolled-back", "x", {}) for _ in "abc"]
        )  # and no commit
    with audited.uow() as uow:
        seq = uow.audit.append(
            at=audited.env.clock(), actor="t", action="test:kept", subject="x", data={}
        )
        uow.commit()
    assert seq == before
    assert len(leaves_of(audited)) == before + 1
    assert verify(audited).ok


def test_an_unhashable_event_is_refused_and_nothing_is_written(audited: App) -> None:
    before = size(audited)
    with audited.uow() as uow, pytest.raises(UnhashableEvent, match="floats"):
        uow.audit.append(
            at=audited.env.clock(), actor="t", action="a", subject="s", data={"x": 1.5}
        )
    assert size(audited) == before
    assert verify(audited).ok


def test_concurrent_appenders_get_gap_free_sequence_numbers(audited: App) -> None:
    before, threads, each = size(audited), 4, 15
    errors: list[BaseException] = []

    def appender(n: int) -> None:
        try:
            for i in range(each):
                with audited.uow() as uow:
                    uow.audit.append(
                        at=datetime.now(UTC), actor=f"t{n}", action="test:race", subject=f"{i}",
                        data={"i": i},
                    )  # fmt: skip
                    uow.commit()
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    workers = [threading.Thread(target=appender, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    with audited.uow(readonly=True) as uow:
        seqs = [e.seq for e in uow.audit.list(limit=10_000)]
    assert seqs == list(range(before + threads * each))
    assert verify(audited).ok


def test_the_hashed_form_round_trips_through_this_database(audited: App) -> None:
    """Hash from the values inserted; read back, serve, export: the same bytes, the same leaf."""
    shanghai = timezone(timedelta(hours=8))
    moments = [
        datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC),  # no microseconds
        datetime(2026, 11, 25, 9, 0, 0, 999_999, tzinfo=UTC),
        datetime(2026, 11, 25, 17, 0, 0, 1, tzinfo=shanghai),  # not UTC
        datetime(1999, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    ]
    with audited.uow() as uow:
        first = uow.audit.size()
        uow.audit.append_many(
            [
                NewAuditEvent(at, "\u00e9lodie", "test:round-trip", f"subject \u2014 {i}", data)
                for i, (at, data) in enumerate(zip(moments, TRICKY_DATA, strict=True))
            ]
        )
        uow.commit()
    entries = audit_log.read_events(
        audited.uow(readonly=True), audited.env, actor=_principal(audited, "audrey"),
        from_seq=first, limit=10,
    )  # fmt: skip
    assert [e.at for e in entries] == [
        "2026-11-25T09:00:00.000000Z",
        "2026-11-25T09:00:00.999999Z",
        "2026-11-25T09:00:00.000001Z",
        "1999-12-31T23:59:59.500000Z",
        "2026-01-01T00:00:00.000000Z",
    ]
    with audited.uow(readonly=True) as uow:
        read_back = uow.audit.tree.stored_events(first, first + 10)
    for entry, stored, data in zip(entries, read_back, TRICKY_DATA, strict=True):
        served = dataclasses.asdict(entry)
        assert served["data"] == data
        _, canonical, leaf, stored_leaf = stored
        assert entry.leaf_hash == jcs_leaf(served) == leaf == stored_leaf
        fields = ("seq", "at", "actor", "action", "subject", "data")
        assert canonical == rfc8785.dumps({k: served[k] for k in fields})
    assert verify(audited).ok


def _principal(app: App, pid: str):  # type: ignore[no-untyped-def]
    with app.uow(readonly=True) as uow:
        return uow.principals.get(pid)


# --------------------------------------------------------------------------- append-only


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 0",
        "DELETE FROM audit_events WHERE seq = 0",
        "UPDATE audit_nodes SET hash = hash WHERE level = 0 AND position = 0",
        "DELETE FROM audit_nodes WHERE level = 0",
        "UPDATE audit_checkpoints SET size = size + 1",
        "DELETE FROM audit_checkpoints",
        *(["TRUNCATE audit_events", "TRUNCATE audit_nodes", "TRUNCATE audit_checkpoints"]
          if ON_POSTGRES else []),
    ],
)  # fmt: skip
def test_the_apps_own_connection_cannot_rewrite_history(
    audited: App, clock: Clock, statement: str
) -> None:
    make_log(audited, clock, rounds=1, tail=0)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), audited.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert verify(audited).ok


# --------------------------------------------------------------------------- checkpoints


def test_a_checkpoint_is_signed_witnessed_and_only_when_the_log_grew(audited: App) -> None:
    assert size(audited) == 0 or sign(audited) is not None
    assert sign(audited) is None  # nothing new
    identity.issue_token(audited.uow(), audited.env, principal_id="fay", ttl=timedelta(hours=1))
    signed = sign(audited)
    assert signed is not None
    assert signed.size == size(audited)
    text, [signature] = parse_note(signed.note)
    assert parse_body(text).root_hash == signed.root_hash
    key = audit_wiring.signer(audited.settings)
    Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature.signature, text.encode())
    witness = [
        json.loads(line) for line in audited.settings.checkpoint_file.read_text().splitlines()
    ]
    assert (witness[-1]["note"], witness[-1]["size"]) == (signed.note, signed.size)
    with audited.uow(readonly=True) as uow:
        assert uow.audit.tree.latest_checkpoint() == signed


def test_nothing_is_signed_over_a_stored_tree_that_does_not_extend_the_last_checkpoint(
    audited: App, clock: Clock
) -> None:
    [signed] = make_log(audited, clock, rounds=1, tail=3)
    level, position = merkle.Frontier.keys(signed)[0]  # the largest subtree under that root
    drop = (
        "DROP TRIGGER audit_nodes_no_rewrite ON audit_nodes"
        if ON_POSTGRES
        else "DROP TRIGGER audit_nodes_no_update"
    )
    with audited.engine.begin() as conn:  # someone with database access
        conn.exec_driver_sql(drop)
        conn.execute(
            sa.text("UPDATE audit_nodes SET hash = :h WHERE level = :l AND position = :p"),
            {"h": bytes(32), "l": level, "p": position},
        )
    lines = audited.settings.checkpoint_file.read_text()
    with pytest.raises(audit_log.AuditLogCorrupt, match="does not extend"):
        sign(audited)
    assert audited.settings.checkpoint_file.read_text() == lines  # the witness saw nothing


def test_the_worker_signs_a_checkpoint_soon_after_an_executed_plan(audited: App) -> None:
    r = submit(audited, "alice", "A1", ["r-ato"])
    approve(audited, "fay", r.id, r.state_digest)
    thread, stop = start_in_thread(audited)
    try:
        deadline = time.monotonic() + 30
        while status(audited, r.id) != "executed" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status(audited, r.id) == "executed"
        executed_at = size(audited)
        while time.monotonic() < deadline:
            with audited.uow(readonly=True) as uow:
                latest = uow.audit.tree.latest_checkpoint()
            if latest is not None and latest.size >= executed_at:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert latest is not None
    assert latest.size >= executed_at
    assert verify(audited).ok


def test_production_refuses_a_missing_key_and_development_generates_one(tmp_path: Path) -> None:
    missing = tmp_path / "keys" / "audit.pem"
    production = Settings(mode="production", secret_key="s" * 32, audit_key_file=missing)
    with pytest.raises(ValueError, match="no audit signing key"):
        production.check()
    assert audit_wiring.ensure_dev_key(production) is None
    assert not missing.exists()
    development = Settings(audit_key_file=missing)
    assert audit_wiring.ensure_dev_key(development) == missing
    assert missing.stat().st_mode & 0o777 == 0o600
    assert audit_wiring.ensure_dev_key(development) is None  # never overwritten


# --------------------------------------------------------------------------- the API


def _client(app: App) -> tuple[TestClient, dict[str, dict[str, str]]]:
    headers = {
        pid: {
            "Authorization": "Bearer "
            + identity.issue_token(app.uow(), app.env, principal_id=pid, ttl=timedelta(hours=1))
        }
        for pid in ("audrey", "fay", "alice")
    }
    return TestClient(create_app(app)), headers


def test_the_api_serves_events_checkpoints_and_proofs_that_verify(
    audited: App, clock: Clock
) -> None:
    client, as_ = _client(audited)
    assert client.get("/v1/audit/checkpoint", headers=as_["audrey"]).status_code == 404
    sizes = make_log(audited, clock, rounds=3, tail=2)
    events = client.get("/v1/audit/events?limit=1000", headers=as_["fay"]).json()
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert all(bytes.fromhex(e["leaf_hash"]) == jcs_leaf(e) for e in events)
    cp = client.get("/v1/audit/checkpoint", headers=as_["audrey"]).json()
    key = client.get("/v1/audit/public-key", headers=as_["audrey"]).json()
    assert (key["algorithm"], key["origin"], cp["origin"]) == ("ed25519", ORIGIN, ORIGIN)
    assert (cp["size"], cp["key_id"]) == (sizes[-1], key["key_id"])
    body = f"{ORIGIN}\n{cp['size']}\n{base64.b64encode(bytes.fromhex(cp['root_hash'])).decode()}\n"
    assert cp["note"].startswith(body + "\n")
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(base64.b64decode(cp["signature"]), body.encode())
    root = bytes.fromhex(cp["root_hash"])
    for seq in (0, cp["size"] // 2, cp["size"] - 1):
        proof = client.get(f"/v1/audit/proof/inclusion?seq={seq}", headers=as_["fay"]).json()
        assert (proof["leaf_index"], proof["tree_size"]) == (seq, cp["size"])
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        leaf = bytes.fromhex(events[seq]["leaf_hash"])
        assert merkle.verify_inclusion(seq, cp["size"], leaf, hashes, root)
        altered = [*hashes[:-1], bytes(32)]
        assert not merkle.verify_inclusion(seq, cp["size"], leaf, altered, root)
    old_root = merkle.root_from_leaves([bytes.fromhex(e["leaf_hash"]) for e in events[: sizes[0]]])
    proof = client.get(
        f"/v1/audit/proof/consistency?from={sizes[0]}&to={sizes[-1]}", headers=as_["audrey"]
    ).json()
    assert (proof["from"], proof["to"]) == (sizes[0], sizes[-1])
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    assert merkle.verify_consistency(sizes[0], sizes[-1], old_root, root, hashes)
    assert not merkle.verify_consistency(sizes[0], sizes[-1], old_root, root, hashes[1:])
    too_far = client.get(f"/v1/audit/proof/inclusion?seq={cp['size']}", headers=as_["fay"])
    assert too_far.status_code == 422
    beyond = client.get("/v1/audit/proof/consistency?from=1&to=100000", headers=as_["fay"])
    assert beyond.status_code == 422


def test_inclusion_proofs_at_every_size_and_position_verify(audited: App, clock: Clock) -> None:
    """The route's proof read (on PostgreSQL one statement fetching a superset of the nodes)
    gives a proof that verifies for every leaf of every tree size, not only the latest."""
    make_log(audited, clock, rounds=2, tail=5)
    leaves, auditor = leaves_of(audited), _principal(audited, "audrey")
    n = len(leaves)
    assert n >= 20
    for tree_size in range(1, n + 1):
        root = merkle.root_from_leaves([leaves[i] for i in range(tree_size)])
        for seq in range(tree_size):
            proof = audit_log.inclusion_proof(
                audited.uow(readonly=True), audited.env, actor=auditor, seq=seq, size=tree_size
            )
            assert (proof.first, proof.size) == (seq, tree_size)
            assert merkle.verify_inclusion(seq, tree_size, leaves[seq], proof.hashes, root)
    for seq, tree_size, field in ((0, n + 1, "size"), (5, 5, "seq"), (n, None, "seq")):
        with pytest.raises(ValidationFailed) as refused:
            audit_log.inclusion_proof(
                audited.uow(readonly=True), audited.env, actor=auditor, seq=seq, size=tree_size
            )
        assert refused.value.field == field


def test_a_proof_read_outside_a_transaction_leaves_the_connection_transactional(
    audited: App, clock: Clock, database_url: str
) -> None:
    """On PostgreSQL a proof reads in autocommit; the pooled connection it hands back must be
    transactional again, or the next unit of work would commit statement by statement."""
    make_log(audited, clock, rounds=1, tail=2)
    before, auditor = size(audited), _principal(audited, "audrey")
    engine = make_engine(database_url)
    try:  # used one unit of work at a time, this engine's pool holds a single connection
        for seq, tree_size in ((0, None), (before - 1, before)):
            audit_log.inclusion_proof(
                UnitOfWork(engine, readonly=True),
                audited.env,
                actor=auditor,
                seq=seq,
                size=tree_size,
            )
        with UnitOfWork(engine) as uow:
            uow.audit.append(
                at=clock(), actor="system", action="test:uncommitted", subject="s", data={}
            )
            uow.conn.exec_driver_sql("UPDATE principals SET name = 'changed' WHERE id = 'audrey'")
        # left without commit: rolled back
        assert size(audited) == before
        assert _principal(audited, "audrey").name != "changed"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "route",
    ["events", "checkpoint", "public-key", "proof/inclusion?seq=0", "proof/consistency?from=1"],
)
def test_a_requester_may_not_read_the_audit_log_and_the_refusal_is_audited(
    audited: App, route: str
) -> None:
    client, as_ = _client(audited)
    before = size(audited)
    response = client.get(f"/v1/audit/{route}", headers=as_["alice"])
    assert response.status_code == 403
    assert response.json()["type"] == "urn:thawgate:problem:forbidden"
    with audited.uow(readonly=True) as uow:
        [refusal] = uow.audit.list(from_seq=before)
    assert (refusal.actor, refusal.action, refusal.subject) == (
        "alice",
        "refused:forbidden",
        "audit",
    )
    assert client.get(f"/v1/audit/{route}").status_code == 401


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(audited: App, monkeypatch: pytest.MonkeyPatch) -> App:
    for name, value in {
        "THAWGATE_DATABASE_URL": audited.settings.database_url,
        "THAWGATE_AUDIT_KEY_FILE": str(audited.settings.audit_key_file),
        "THAWGATE_CHECKPOINT_FILE": str(audited.settings.checkpoint_file),
        "THAWGATE_AUDIT_ORIGIN": ORIGIN,
    }.items():
        monkeypatch.setenv(name, value)
    return audited


def test_audit_verify_and_an_export_verified_with_no_database(
    cli_env: App, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = make_log(cli_env, clock, rounds=3, tail=3)
    runner = CliRunner()
    done = runner.invoke(cli, ["audit", "verify"])
    assert done.exit_code == 0, done.output
    assert f"{size(cli_env)} events, 3 checkpoints" in done.stdout
    export = tmp_path / "export"
    assert runner.invoke(cli, ["audit", "export", str(export)]).exit_code == 0
    assert sorted(os.listdir(export)) == [
        "checkpoints.jsonl", "events.jsonl", "public_key.json", "witness.jsonl",
    ]  # fmt: skip
    lines = (export / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == size(cli_env)
    assert all(rfc8785.dumps(json.loads(line)) == line for line in lines)  # each line is JCS
    monkeypatch.setenv("THAWGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'absent' / 'x.db'}")
    monkeypatch.setenv("THAWGATE_AUDIT_KEY_FILE", str(tmp_path / "absent.pem"))
    offline = runner.invoke(cli, ["audit", "verify", "--export", str(export)])
    assert offline.exit_code == 0, offline.output
    vkey = json.loads((export / "public_key.json").read_text())["verifier_key"]
    assert f"signatures checked against {vkey}" in offline.stdout
    pinned = runner.invoke(cli, ["audit", "verify", "--export", str(export), "--public-key", vkey])
    assert pinned.exit_code == 0, pinned.output

    k = sizes[1] + 1  # an event covered by the third checkpoint
    edited = tmp_path / "edited"
    shutil.copytree(export, edited)
    lines[k] = lines[k].replace(b'"actor":"', b'"actor":"x', 1)
    (edited / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    bad = runner.invoke(cli, ["audit", "verify", "--export", str(edited)])
    assert bad.exit_code == 8
    assert f"first bad sequence number {sizes[1]}" in bad.stderr  # the range it falls in

    dropped = tmp_path / "dropped"
    shutil.copytree(export, dropped)
    del lines[k]
    (dropped / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (dropped / "checkpoints.jsonl").write_text("")  # the witness copy still has them
    bad = runner.invoke(cli, ["audit", "verify", "--export", str(dropped)])
    assert bad.exit_code == 8
    assert f"first bad sequence number {sizes[1]}" in bad.stderr

    other = "other.example/audit+" + vkey.split("+", 1)[1]
    refused = runner.invoke(
        cli, ["audit", "verify", "--export", str(export), "--public-key", other]
    )
    assert refused.exit_code != 0


def test_audit_verify_names_the_first_bad_sequence_number_in_the_database(
    cli_env: App, clock: Clock
) -> None:
    make_log(cli_env, clock, rounds=2, tail=0)
    drop = (
        "DROP TRIGGER audit_events_no_rewrite ON audit_events"
        if ON_POSTGRES
        else "DROP TRIGGER audit_events_no_update"
    )
    with cli_env.engine.begin() as conn:
        conn.exec_driver_sql(drop)
        conn.exec_driver_sql("UPDATE audit_events SET actor = 'mallory' WHERE seq = 17")
    done = CliRunner().invoke(cli, ["audit", "verify"])
    assert done.exit_code == 8
    assert "first bad sequence number 17" in done.stderr


# --------------------------------------------------------------------------- the migration


def test_events_written_before_the_tree_existed_get_their_tree_in_migration_0003(
    database_url: str, tmp_path: Path
) -> None:
    """A log written by the earlier append (SQLAlchemy's own JSON text, no tree) upgrades to a
    tree that verifies, and appends then continue it."""
    settings = Settings(database_url=database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(bootstrap.alembic_config(settings, conn), "0002")
    old = [
        {"seq": i, "at": datetime(2026, 1, 1, 0, 0, i, tzinfo=UTC), "actor": "system",
         "action": "restriction:placed", "subject": f"r-{i}", "data": data}
        for i, data in enumerate(TRICKY_DATA * 3)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.insert(audit_events), old)
        conn.execute(sa.update(audit_head).values(next_seq=len(old)))
    bootstrap.migrate(settings, engine)
    engine.dispose()
    app = with_audit_key(bootstrap.build(settings), tmp_path)
    try:
        assert sign(app) is not None
        identity.issue_token(app.uow(), app.env, principal_id="audrey", ttl=timedelta(hours=1))
        assert sign(app) is not None
        report = verify(app)
        assert report.ok, report.problems
        assert report.covered == len(old) + 2  # the auditor's load and their token
    finally:
        app.engine.dispose()


def test_events_stored_before_migration_0005_are_kept_as_the_canonical_text_they_were_signed_as(
    database_url: str, tmp_path: Path
) -> None:
    """A log appended and signed while PostgreSQL kept `data` as JSONB (revision 0004), which
    re-encodes it: after 0005 each event's `data` is again exactly the JCS text its leaf was
    hashed from, the append-only trigger is back in force, and the signed log verifies."""
    settings = Settings(
        database_url=database_url,
        audit_key_file=tmp_path / "audit-ed25519.pem",
        checkpoint_file=tmp_path / "witness.jsonl",
        audit_origin=ORIGIN,
    )
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(bootstrap.alembic_config(settings, conn), "0004")
    generate_key_file(settings.audit_key_file)
    env = Env(
        authorizer=Authorizer.from_directory(settings.policy_dir), policies={}, active_version=""
    )
    app = App(settings=settings, engine=engine, env=env)
    data = TRICKY_DATA * 2
    with app.uow() as uow:
        at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
        uow.audit.append_many(
            [
                NewAuditEvent(at, "system", "test:before-0005", f"s-{i}", d)
                for i, d in enumerate(data)
            ]
        )
        uow.commit()
    assert sign(app) is not None
    as_text = sa.select(sa.cast(audit_events.c.data, sa.Text)).order_by(audit_events.c.seq)
    if ON_POSTGRES:
        with engine.connect() as conn:
            jsonb_text = conn.execute(as_text).scalars().all()
        assert jsonb_text != [canonical_json(d) for d in data]  # JSONB's own spelling
    bootstrap.migrate(settings, engine)
    try:
        with engine.connect() as conn:
            assert conn.execute(as_text).scalars().all() == [canonical_json(d) for d in data]
        report = verify(app)
        assert report.ok, report.problems
        assert report.covered == len(data)
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql("UPDATE audit_events SET actor = 'mallory' WHERE seq = 0")
    finally:
        engine.dispose()
