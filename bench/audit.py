"""`make bench`: the audit log's figures (issue 4), on a fresh database of the bench's own.

- append, batched, on SQLite (target >= 5,000 events/s) and on PostgreSQL (>= 2,000 events/s):
  `AuditRepository.append` as the services call it, many events to a transaction, then
  `append_many`, and, for scale, one event per transaction with its commit;
- `thawgate audit verify` of 1,000,000 events (<= 10 s), on the database and on an export;
- an inclusion proof at 1,000,000 events (<= 1 ms): read the nodes, hash the proof; and, for
  scale, the whole round trip of `GET /v1/audit/proof/inclusion` to a real `thawgate serve`.

The events are a mix shaped like Thawgate's own: a third request events (decision, rules, risk
score, digest), two thirds small restriction and binding events.

    python bench/audit.py [--events 1000000] [--postgres URL] [--postgres-events 1000000]
        [--only verify,inclusion] [--skip-sqlite] [--keep NAME]

PostgreSQL is measured when --postgres or THAWGATE_TEST_POSTGRES_URL names a database; the
bench works in a schema of its own there and drops it afterwards. With `--keep NAME` the log is
kept between runs instead (the PostgreSQL schema `bench_NAME`, and the SQLite file, signing key
and witness file in `.thawgate/bench-NAME/`) and only grown to the size asked for, so verify and
proofs can be measured again without rebuilding a million events.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402  # after the path set-up above
import sqlalchemy as sa  # noqa: E402

from thawgate import bootstrap  # noqa: E402
from thawgate.adapters.audit.export_dir import ExportReader, ExportWriter  # noqa: E402
from thawgate.adapters.audit.signer import (  # noqa: E402
    Ed25519Signer,
    generate_key_file,
    signature_check,
)
from thawgate.adapters.audit.witness import WitnessFile  # noqa: E402
from thawgate.adapters.db.audit_repo import NewAuditEvent  # noqa: E402
from thawgate.adapters.db.engine import make_engine  # noqa: E402
from thawgate.adapters.db.uow import UnitOfWork  # noqa: E402
from thawgate.config import Settings  # noqa: E402
from thawgate.domain import merkle  # noqa: E402
from thawgate.domain.checkpoint import Checkpoint  # noqa: E402
from thawgate.domain.log_verifier import Report  # noqa: E402
from thawgate.domain.model import Principal  # noqa: E402
from thawgate.policy.authz import Authorizer  # noqa: E402
from thawgate.services import audit_log, audit_verify, identity, loader  # noqa: E402
from thawgate.services.env import Env  # noqa: E402

ORIGIN = "bench.thawgate/audit"
PARTS = ("append", "verify", "inclusion")
AUDITOR = frozenset({"auditor"})
Appender = Callable[[UnitOfWork, list[NewAuditEvent]], None]
T0 = datetime(2026, 11, 25, tzinfo=UTC)


def event(i: int) -> NewAuditEvent:
    at = T0 + timedelta(microseconds=i * 1237)
    rid = f"req_{i:024x}"
    if i % 3 == 0:
        data: dict[str, object] = {
            "request_id": rid,
            "kind": "thaw",
            "account_id": f"{10000 + i % 5000}",
            "targets": [f"r-{i}"],
            "status": "pending_approval",
            "status_reason": None,
            "decision": {
                "outcome": "review",
                "policy_version": "2026.11.1",
                "rules": [
                    {"id": "ato-needs-liveness", "effect": "review", "message": "ATO: liveness"}
                ],
                "risk_score": i % 100,
            },
            "state_digest": f"{i:064x}",
            "stale_count": 0,
        }
        return NewAuditEvent(at, "alice", "request:submitted", f"request:{rid}", data)
    data = {"request_id": rid, "expected_version": i % 7}
    return NewAuditEvent(at, "system", "restriction:lifted", f"r-{i}", data)


def events(start: int, count: int) -> Iterator[NewAuditEvent]:
    return (event(i) for i in range(start, start + count))


def migrated(url: str) -> sa.Engine:
    engine = make_engine(url)
    bootstrap.migrate(Settings(database_url=url), engine)
    return engine


def line(label: str, value: str, target: str = "", met: bool | None = None) -> None:
    verdict = "" if met is None else ("met" if met else "MISSED")
    print(f"  {label:56} {value:>18}  {target} {verdict}".rstrip())


def rate(label: str, n: int, seconds: float, target: float | None = None) -> None:
    met = None if target is None else n / seconds >= target
    goal = "" if target is None else f"target >= {target:,.0f}:"
    line(label, f"{n / seconds:,.0f} events/s", goal, met)


def check(report: Report, size: int) -> None:
    if not report.ok or report.size != size:
        raise SystemExit(f"the log did not verify: {report.problems}")


def bench_append(engine: sa.Engine, *, n: int, target: float) -> None:
    with UnitOfWork(engine) as uow:
        seq = uow.audit.size()

    def timed(label: str, count: int, per_tx: int, goal: float | None, fn: Appender) -> None:
        nonlocal seq
        began, done = time.perf_counter(), 0
        while done < count:
            batch = list(events(seq, min(per_tx, count - done)))
            with UnitOfWork(engine) as uow:
                fn(uow, batch)
                uow.commit()
            seq, done = seq + len(batch), done + len(batch)
        rate(label, done, time.perf_counter() - began, goal)

    def one_by_one(uow: UnitOfWork, batch: list[NewAuditEvent]) -> None:
        for e in batch:  # as the services call it
            uow.audit.append(
                at=e.at, actor=e.actor, action=e.action, subject=e.subject, data=dict(e.data)
            )

    def all_at_once(uow: UnitOfWork, batch: list[NewAuditEvent]) -> None:
        uow.audit.append_many(batch)

    timed("append(), 500 events a transaction", n, 500, target, one_by_one)
    timed("append_many(), 500 events a transaction", n, 500, target, all_at_once)
    timed(
        "append(), one event a transaction, each committed", max(n // 10, 200), 1, None, one_by_one
    )


def fill(engine: sa.Engine, total: int) -> None:
    with UnitOfWork(engine) as uow:
        have = uow.audit.size()
    began, batch = time.perf_counter(), 5_000
    while have < total:
        count = min(batch, total - have)
        with UnitOfWork(engine) as uow:
            uow.audit.append_many(list(events(have, count)))
            uow.commit()
        have += count
    print(f"  (filled to {total:,} events in {time.perf_counter() - began:.0f} s)")


def bench_verify(engine: sa.Engine, workdir: Path) -> None:
    key_file, witness = workdir / "key.pem", WitnessFile(workdir / "witness.jsonl")
    if not key_file.exists():  # a kept log (--keep) keeps its key
        generate_key_file(key_file)
    signer = Ed25519Signer.load(key_file, ORIGIN)
    with UnitOfWork(engine) as uow:
        size = uow.audit.size()
    for part in (size // 3, 2 * size // 3):  # three checkpoints over the log, as a worker leaves
        _checkpoint_at(engine, part, signer, witness)
    audit_log.issue_checkpoint(
        UnitOfWork(engine),
        signer=signer,
        witness=witness,
        signature_ok=signature_check(signer.public_key),
        at=datetime.now(UTC),
    )
    key = audit_verify.TrustedKey(ORIGIN, signer.public_key)
    began = time.perf_counter()
    report = audit_verify.verify_database(
        lambda: UnitOfWork(engine), key=key, read_witness=witness.read
    )
    seconds = time.perf_counter() - began
    check(report, size)
    line(f"audit verify, database, {size:,} events", f"{seconds:.1f} s", "<= 10 s:", seconds <= 10)
    export = workdir / "export"
    shutil.rmtree(export, ignore_errors=True)
    began = time.perf_counter()
    audit_verify.export_log(
        lambda: UnitOfWork(engine),
        writer=ExportWriter(export),
        key=key,
        witness_lines=witness.lines,
    )
    line("audit export", f"{time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    report = audit_verify.verify_export(ExportReader(export), pinned=key)
    seconds = time.perf_counter() - began
    check(report, size)
    line(f"audit verify --export, {size:,} events", f"{seconds:.1f} s", "<= 10 s:", seconds <= 10)


def _checkpoint_at(
    engine: sa.Engine, size: int, signer: Ed25519Signer, witness: WitnessFile
) -> None:
    """A checkpoint of an earlier size, as a worker would have signed it back then."""
    with UnitOfWork(engine) as uow:
        if uow.audit.tree.checkpoint(size) is not None:
            return  # a kept log (--keep) signed it on an earlier run
        nodes = uow.audit.tree.require(merkle.Frontier.keys(size))
        root = merkle.range_hash(0, size, nodes)
        signed = audit_log.sign_checkpoint(
            signer, Checkpoint(ORIGIN, size, root), datetime.now(UTC)
        )
        witness.append(signed)
        uow.audit.tree.add_checkpoint(signed)
        uow.commit()


def bench_inclusion(engine: sa.Engine, *, runs: int = 2_000) -> None:
    """Median and p99 of one proof at the latest checkpoint's size: the service call that `GET
    /v1/audit/proof/inclusion` makes (Cedar's authorization, a unit of work of its own with its
    pool checkout, the read, the proof), and the read and the proof alone, on one connection
    held throughout. Every proof is then checked against the checkpoint's root. Last, for scale,
    the whole HTTP round trip."""
    env = Env(
        authorizer=Authorizer.from_directory(Settings().policy_dir),
        policies={},
        active_version="",
    )
    auditor = Principal(id="bench-auditor", name="Auditor", team="audit", roles=AUDITOR)
    with UnitOfWork(engine) as uow:
        latest = uow.audit.tree.latest_checkpoint()
    if latest is None:
        raise SystemExit("no checkpoint to prove against: run the verify part first")
    size, root = latest.size, latest.root_hash
    dice = random.Random(9162)  # noqa: S311  # which leaves to prove, reproducibly

    def checked(seq: int, proof: list[bytes], leaf: bytes) -> None:
        if not merkle.verify_inclusion(seq, size, leaf, proof, root):
            raise SystemExit(f"the proof for {seq} does not verify")

    def as_the_route_serves_it() -> None:
        seq = dice.randrange(size)
        proof = audit_log.inclusion_proof(
            UnitOfWork(engine, readonly=True), env, actor=auditor, seq=seq, size=None
        )
        samples_leaves.append((seq, proof.hashes))

    def inside(shared: UnitOfWork) -> None:
        seq = dice.randrange(size)
        _, _, nodes = shared.audit.tree.inclusion_read(seq, None)
        samples_leaves.append((seq, merkle.inclusion_proof(seq, size, nodes)))

    samples_leaves: list[tuple[int, list[bytes]]] = []
    with UnitOfWork(engine, readonly=True) as shared:
        for label, once in (
            ("the service call of GET /v1/audit/proof/inclusion", as_the_route_serves_it),
            ("the read and the proof alone", lambda: inside(shared)),
        ):
            samples = []
            for i in range(runs + 200):
                began = time.perf_counter_ns()
                once()
                if i >= 200:  # warm-up excluded
                    samples.append((time.perf_counter_ns() - began) / 1e6)
            median, p99 = statistics.median(samples), sorted(samples)[int(len(samples) * 0.99)]
            line(
                f"inclusion proof at {size:,}, {label}",
                f"{median:.3f} / {p99:.3f} ms",
                "median <= 1 ms:",
                median <= 1,
            )
        leaves = shared.audit.tree.nodes((0, seq) for seq, _ in samples_leaves)
    for seq, proof in samples_leaves:  # outside the timing: the served proofs verify
        checked(seq, proof, leaves[(0, seq)])
    over_http(engine, env, size, dice, runs=runs)


def over_http(engine: sa.Engine, env: Env, size: int, dice: random.Random, *, runs: int) -> None:
    """The round trip a client sees: `thawgate serve` (uvicorn, one process, no worker) on this
    log, a keep-alive connection, a bearer token (looked up and Cedar-checked per request)."""
    url = engine.url.render_as_string(hide_password=False)
    loader.load_world(
        UnitOfWork(engine),
        env,
        {"principals": [{"id": "bench-auditor", "team": "compliance", "roles": ["auditor"]}]},
    )
    token = identity.issue_token(
        UnitOfWork(engine), env, principal_id="bench-auditor", ttl=timedelta(hours=1)
    )
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603  # our own CLI
        [
            str(Path(sys.executable).with_name("thawgate")),
            "serve",
            "--no-worker",
            "--port",
            str(port),
        ],
        env={**os.environ, "THAWGATE_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            _wait_up(client, server)
            samples = []
            for i in range(runs + 200):
                seq = dice.randrange(size)
                began = time.perf_counter_ns()
                reply = client.get("/v1/audit/proof/inclusion", params={"seq": seq})
                if i >= 200:
                    samples.append((time.perf_counter_ns() - began) / 1e6)
                if reply.status_code != 200 or reply.json()["tree_size"] != size:
                    raise SystemExit(f"GET /v1/audit/proof/inclusion answered {reply.text}")
        median, p99 = statistics.median(samples), sorted(samples)[int(len(samples) * 0.99)]
        line(f"inclusion proof at {size:,}, over HTTP (for scale)", f"{median:.3f} / {p99:.3f} ms")
    finally:
        server.terminate()
        server.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_up(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"thawgate serve exited {server.returncode}")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("thawgate serve did not answer /healthz in 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="the log size to verify")
    parser.add_argument("--append-events", type=int, default=20_000)
    parser.add_argument("--postgres", default=os.environ.get("THAWGATE_TEST_POSTGRES_URL"))
    parser.add_argument("--postgres-events", type=int, default=1_000_000)
    parser.add_argument("--only", default=",".join(PARTS), help="of: " + ", ".join(PARTS))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", metavar="NAME", help="keep the log between runs under NAME")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if not parts <= set(PARTS):
        parser.error(f"--only: choose among {', '.join(PARTS)}")
    with tempfile.TemporaryDirectory(prefix="thawgate-bench-") as tmp:
        scratch = Path(tmp)
        kept = None if args.keep is None else ROOT / ".thawgate" / f"bench-{args.keep}"
        print(f"audit log, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        if not args.skip_sqlite:
            print("SQLite (WAL, synchronous=NORMAL):")
            if "append" in parts:
                engine = migrated(f"sqlite:///{scratch / 'append.db'}")
                bench_append(engine, n=args.append_events, target=5_000)
                engine.dispose()
            workdir = scratch / "sqlite" if kept is None else kept / "sqlite"
            workdir.mkdir(parents=True, exist_ok=True)
            engine = migrated(f"sqlite:///{workdir / 'audit.db'}")
            bench_log(engine, workdir, parts, total=args.events)
            engine.dispose()
        if args.postgres:
            print("PostgreSQL:")
            if "append" in parts:
                with pg_schema(args.postgres, None) as engine:
                    bench_append(engine, n=args.append_events, target=2_000)
            workdir = scratch / "pg" if kept is None else kept / "pg"
            workdir.mkdir(parents=True, exist_ok=True)
            with pg_schema(args.postgres, args.keep) as engine:
                bench_log(engine, workdir, parts, total=args.postgres_events)


def bench_log(engine: sa.Engine, workdir: Path, parts: set[str], *, total: int) -> None:
    if parts & {"verify", "inclusion"}:
        fill(engine, total)
        if engine.dialect.name == "postgresql":  # what autovacuum does (it is off on some hosts)
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE audit_events, audit_nodes, audit_checkpoints")
    if "verify" in parts:
        bench_verify(engine, workdir)
    if "inclusion" in parts:
        bench_inclusion(engine)


@contextmanager
def pg_schema(url: str, keep: str | None) -> Iterator[sa.Engine]:
    """An engine on a schema of its own: `bench_<keep>`, kept, or a fresh one, dropped after."""
    schema = f"bench_{keep or uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    sep = "&" if "?" in url else "?"
    engine = migrated(f"{url}{sep}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        if keep is None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


if __name__ == "__main__":
    main()
