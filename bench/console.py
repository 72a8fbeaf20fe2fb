"""`make bench`: the console's queue page with 10,000 pending requests, on PostgreSQL.

Set-up (not timed): a scratch schema, N accounts each with one ATO freeze, and N pending thaw
requests filed through intake (policy, risk, audit), round-robin by 20 requesters, then VACUUM
ANALYZE (as autovacuum would have run). Timed: the server's time for GET /queue (the page a
reviewer opens), through the real ASGI app in process, logged in with the signed session cookie;
also a filtered, risk-sorted page and a deep page. Last, "take next" (services/console.py): for
a fraud reviewer, who may take any of them, and for a legal reviewer, who may take none, so every
candidate up to its limit is read and checked before it answers "none".

    THAWGATE_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/console.py [N]
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402  # after the path set-up above
from worlds import AGENTS, scratch_schema, thaw_world  # noqa: E402  # bench/worlds.py

from thawgate import bootstrap  # noqa: E402
from thawgate.adapters.db.engine import make_engine  # noqa: E402
from thawgate.config import Settings  # noqa: E402
from thawgate.domain.request import Evidence  # noqa: E402
from thawgate.entrypoints.api.app import create_app  # noqa: E402
from thawgate.services import console, identity, intake, loader  # noqa: E402

RUNS = 30
PASSWORD = "bench-password-1"  # noqa: S105  # a scratch schema's only login, dropped after
TARGET_MS = 150.0
PAGES = {
    "queue (default: pending, oldest first, 50 a page)": "/queue",
    "filtered: ATO_SUSPECTED, customer_support, risk-sorted": (
        "/queue?reason=ATO_SUSPECTED&team=customer_support&sort=risk"
    ),
    "deep page: page 150 of 200": "/queue?page=150",
}


def _prepare(url: str, n: int) -> bootstrap.App:
    settings = Settings(database_url=url)
    engine = make_engine(url)
    bootstrap.migrate(settings, engine)
    engine.dispose()
    app = bootstrap.build(settings)
    now = datetime.now(UTC)
    loader.load_world(app.uow(), app.env, thaw_world(n, now))
    with app.uow(readonly=True) as uow:
        agents = [uow.principals.get(f"agent-{k}") for k in range(AGENTS)]
    evidence = [Evidence("KYC_LIVENESS_PASS", "k", now - timedelta(minutes=30))]
    started = time.perf_counter()
    for i in range(n):
        agent = agents[i % AGENTS]
        if agent is None:
            raise SystemExit(f"agent-{i % AGENTS} is missing")
        body = intake.NewRequest(
            kind="thaw",
            account_id=f"B{i}",
            targets=[f"br-{i}"],
            justification="bench",
            evidence=evidence,
        )
        intake.submit(app.uow(), app.env, actor=agent, body=body)
        if (i + 1) % 2000 == 0:
            print(f"  {i + 1} requests filed ({time.perf_counter() - started:.0f} s)")
    identity.set_password(app.uow(), app.env, principal_id="fay", password=PASSWORD)
    loader.load_world(  # a legal reviewer: no clause on a takeover thaw is hers
        app.uow(),
        app.env,
        {"principals": [{"id": "lena", "team": "legal", "roles": ["legal_reviewer"]}]},
    )
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk of inserts
    return app


def _login(client: TestClient) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    done = client.post(
        "/login",
        data={"username": "fay", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    if done.status_code != 303:
        raise SystemExit(f"login failed: {done.status_code}")


def _time(client: TestClient, path: str) -> list[float]:
    client.get(path)  # warm-up: templates compiled, statements prepared
    out = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code}")
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with scratch_schema() as url:
        print(f"preparing {n} pending thaws ...")
        app = _prepare(url, n)
        with TestClient(create_app(app)) as client:
            _login(client)
            for label, path in PAGES.items():
                ms = sorted(_time(client, path))
                median = statistics.median(ms)
                verdict = "met" if median <= TARGET_MS else "MISSED"
                print(
                    f"{label}: median {median:.1f} ms, p90 {ms[int(len(ms) * 0.9)]:.1f} ms "
                    f"over {RUNS} (target median <= {TARGET_MS:.0f} ms: {verdict})"
                )
        _take_next(app)
        app.engine.dispose()


def _take_next(app: bootstrap.App) -> None:
    with app.uow(readonly=True) as uow:
        fay, lena = uow.principals.get("fay"), uow.principals.get("lena")
    if fay is None or lena is None:
        raise SystemExit("fay or lena is missing")
    for label, who, runs in (
        ("take next, a fraud reviewer (claims one)", fay, RUNS),
        (f"take next, a legal reviewer, none fit ({console.TAKE_NEXT_MAX} checked)", lena, 5),
    ):
        ms = []
        for _ in range(runs):
            started = time.perf_counter()
            got = console.take_next(app.uow(), app.env, actor=who)
            ms.append((time.perf_counter() - started) * 1000)
            if (got is None) != (who is lena):
                raise SystemExit(f"{label}: took {got}")
        print(f"{label}: median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms")


if __name__ == "__main__":
    main()
