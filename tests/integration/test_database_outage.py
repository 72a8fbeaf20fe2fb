"""When PostgreSQL drops Thawgate's connections (a restart, a failover, an operator's kill).

A pooled connection is pinged before reuse only after it sat idle (engine.PING_AFTER_IDLE_S);
one that dies while the pool is busy fails its request with a 503 problem, the pool is
invalidated, and the next request is served on fresh connections.
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from tests.integration.conftest import ON_POSTGRES, Clock
from tests.integration.helpers import approve, status, submit

from thawgate import bootstrap
from thawgate.adapters.db.engine import make_engine
from thawgate.bootstrap import App
from thawgate.config import Settings
from thawgate.entrypoints import worker
from thawgate.entrypoints.api.app import create_app
from thawgate.services import identity

with warnings.catch_warnings():  # starlette's notice about httpx; the client works as it is
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="dropped server connections are PostgreSQL's; SQLite has none"
)


def backends_of(engine: sa.Engine) -> set[int]:
    """The server process ids of every connection this engine opens from now on."""
    engine.dispose()
    pids: set[int] = set()
    event.listen(engine, "connect", lambda dbapi, _record: pids.add(dbapi.info.backend_pid))
    return pids


def kill(url: str, pids: set[int]) -> None:
    admin = make_engine(url)
    with admin.connect() as conn:
        for pid in pids:  # waits (up to 5 s) until each backend has gone
            conn.exec_driver_sql("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    admin.dispose()


def selected_one(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT 1").scalar_one())


def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced(database_url: str) -> None:
    engine = make_engine(database_url, ping_after_idle_s=0)
    pids = backends_of(engine)
    assert selected_one(engine) == 1
    kill(database_url, set(pids))

    assert selected_one(engine) == 1  # no error: the ping found the dead one
    assert len(pids) == 2
    engine.dispose()


def test_a_busy_pool_skips_the_ping_and_recovers_after_one_failure(database_url: str) -> None:
    engine = make_engine(database_url, ping_after_idle_s=3600)
    pids = backends_of(engine)
    assert selected_one(engine) == 1
    kill(database_url, set(pids))

    with pytest.raises(sa.exc.OperationalError) as failed:
        selected_one(engine)
    assert failed.value.connection_invalidated

    assert selected_one(engine) == 1
    assert len(pids) == 2
    engine.dispose()


def test_the_api_answers_503_then_serves_again(
    loaded: App, database_url: str, clock: Clock
) -> None:
    token = identity.issue_token(loaded.uow(), loaded.env, principal_id="fay", ttl=timedelta(1))
    headers = {"Authorization": f"Bearer {token}"}
    # A pool that never pings, as a busy one never does, whatever pauses this machine takes.
    busy = bootstrap.build(
        Settings(database_url=database_url, db_ping_after_idle_seconds=3600), clock=clock
    )
    client = TestClient(create_app(busy), raise_server_exceptions=False)
    pids = backends_of(busy.engine)
    before = client.get("/v1/audit/events?limit=5", headers=headers)
    assert before.status_code == 200
    kill(database_url, set(pids))

    down = client.get("/v1/audit/events?limit=5", headers=headers)

    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.headers["retry-after"] == "1"
    assert down.json()["type"] == "urn:thawgate:problem:unavailable"
    again = client.get("/v1/audit/events?limit=5", headers=headers)
    assert again.status_code == 200
    assert again.json() == before.json()
    busy.engine.dispose()


def test_the_console_answers_with_a_page_in_the_viewers_language(
    loaded: App, database_url: str, clock: Clock
) -> None:
    identity.set_password(loaded.uow(), loaded.env, principal_id="fay", password="p" * 14)
    busy = bootstrap.build(
        Settings(database_url=database_url, db_ping_after_idle_seconds=3600), clock=clock
    )
    client = TestClient(create_app(busy), raise_server_exceptions=False, follow_redirects=False)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert csrf is not None
    done = client.post(
        "/login", data={"username": "fay", "password": "p" * 14, "csrf_token": csrf.group(1)}
    )
    assert done.status_code == 303, done.text
    client.cookies.set("tg_lang", "zh_CN")
    pids = backends_of(busy.engine)
    assert client.get("/queue").status_code == 200
    kill(database_url, set(pids))

    down = client.get("/queue", headers={"Accept": "text/html,*/*;q=0.8"})  # as browsers ask

    assert down.status_code == 503
    assert down.headers["content-type"].startswith("text/html")
    assert down.headers["retry-after"] == "1"
    assert "数据库没有响应" in down.text
    assert client.get("/queue").status_code == 200
    busy.engine.dispose()


def test_readiness_follows_the_database(loaded: App, database_url: str, clock: Clock) -> None:
    busy = bootstrap.build(
        Settings(database_url=database_url, db_ping_after_idle_seconds=3600), clock=clock
    )
    client = TestClient(create_app(busy), raise_server_exceptions=False)
    pids = backends_of(busy.engine)
    assert client.get("/readyz").json() == {"status": "ready"}
    kill(database_url, set(pids))

    down = client.get("/readyz")

    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert client.get("/healthz").status_code == 200  # the process itself is alive
    assert client.get("/readyz").status_code == 200  # and serves again on a fresh pool
    busy.engine.dispose()


def test_the_worker_outlives_a_dropped_connection(
    loaded: App, database_url: str, clock: Clock
) -> None:
    """The worker polls more often than the ping threshold, so its pooled connection is never
    pinged: a restart fails one pass, and the next pass runs on a fresh connection."""
    busy = bootstrap.build(
        Settings(
            database_url=database_url, db_ping_after_idle_seconds=3600, worker_poll_seconds=0.05
        ),
        clock=clock,
    )
    pids = backends_of(busy.engine)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(busy, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not pids and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # a few passes on the same pooled connection
        kill(database_url, set(pids))
        r = submit(loaded, "alice", "A1", ["r-ato"])
        approve(loaded, "fay", r.id, r.state_digest)
        deadline = time.monotonic() + 20
        while status(loaded, r.id) != "executed" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert thread.is_alive()
        assert status(loaded, r.id) == "executed"
    finally:
        stop.set()
        thread.join(10)
        busy.engine.dispose()
