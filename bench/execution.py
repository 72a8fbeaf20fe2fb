"""`make bench`: execution throughput, `local` account system, PostgreSQL, 2 worker processes.

Set-up (not timed): a scratch schema, N accounts each with one ATO freeze, and N approved thaw
requests waiting in the outbox. Timed: two worker processes draining the outbox, each job a full
re-check (policy, risk, authority) plus the compare-and-swap lift and its audit events.

    THAWGATE_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/execution.py [N]
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from worlds import AGENTS, scratch_schema, thaw_world  # noqa: E402  # bench/worlds.py

from thawgate import bootstrap  # noqa: E402  # after the path set-up above
from thawgate.adapters.db.engine import make_engine  # noqa: E402
from thawgate.config import Settings  # noqa: E402
from thawgate.domain.request import Evidence  # noqa: E402
from thawgate.services import execution, intake, loader, review  # noqa: E402

BATCH = int(os.environ.get("THAWGATE_BENCH_BATCH", "50"))
WORKERS = int(os.environ.get("THAWGATE_BENCH_WORKERS", "2"))


def _prepare(url: str, n: int) -> None:
    settings = Settings(database_url=url)
    engine = make_engine(url)
    bootstrap.migrate(settings, engine)
    engine.dispose()
    app = bootstrap.build(settings)
    now = datetime.now(UTC)
    loader.load_world(app.uow(), app.env, thaw_world(n, now))
    with app.uow(readonly=True) as uow:
        agents = [uow.principals.get(f"agent-{k}") for k in range(AGENTS)]
        fay = uow.principals.get("fay")
    if fay is None or None in agents:
        raise SystemExit("the bench world lacks its principals")
    evidence = [Evidence("KYC_LIVENESS_PASS", "k", now - timedelta(minutes=30))]
    for i in range(n):
        body = intake.NewRequest(
            kind="thaw",
            account_id=f"B{i}",
            targets=[f"br-{i}"],
            justification="bench",
            evidence=evidence,
        )
        agent = agents[i % AGENTS]
        if agent is None:
            raise SystemExit(f"agent-{i % AGENTS} is missing")
        r = intake.submit(app.uow(), app.env, actor=agent, body=body)
        review.approve(
            app.uow(),
            app.env,
            actor=fay,
            request_id=r.id,
            comment="ok",
            state_digest=r.state_digest,
        )
    app.engine.dispose()


def _work(url: str, name: str, ready: Any) -> None:
    app = bootstrap.build(Settings(database_url=url))
    ready.wait()  # start together, once every worker has loaded (start-up is not timed)
    while True:
        result = execution.run_once(
            app.uow, app.env, worker=name, lease=timedelta(seconds=60), batch=BATCH
        )
        if result.claimed == 0:
            return


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    with scratch_schema() as url:
        print(f"preparing {n} approved thaws ...")
        _prepare(url, n)
        ready = multiprocessing.Barrier(WORKERS + 1)
        procs = [
            multiprocessing.Process(target=_work, args=(url, f"bench-{i}", ready))
            for i in range(WORKERS)
        ]
        for p in procs:
            p.start()
        ready.wait()
        started = time.perf_counter()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - started
        engine = make_engine(url)
        with engine.connect() as conn:
            done = conn.exec_driver_sql(
                "SELECT count(*) FROM requests WHERE status = 'executed'"
            ).scalar_one()
        engine.dispose()
        rate = done / elapsed
        print(
            f"executed {done}/{n} plans with {WORKERS} workers in {elapsed:.2f} s: "
            f"{rate:.0f} plans/s (target >= 500: {'met' if rate >= 500 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
