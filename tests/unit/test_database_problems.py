"""Which database errors the API answers 503 `unavailable` (retry), and which stay 500 (a fault
that no retry cures, whose traceback the log must keep)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from thawgate.adapters.db.engine import make_engine
from thawgate.entrypoints.api import problems

with warnings.catch_warnings():  # starlette's notice about httpx; the client works as it is
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield engine
    engine.dispose()


@pytest.fixture
def client(engine: sa.Engine) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/missing")
    def missing() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT y FROM t").all()  # a bug: no such column

    @app.get("/locked")
    def locked() -> None:
        holder = engine.connect()
        holder.exec_driver_sql("INSERT INTO t VALUES (1)")  # BEGIN IMMEDIATE: the write lock
        try:
            with engine.connect() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                driver.execute("PRAGMA busy_timeout = 0")  # give up at once, not after 30 s
                conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        finally:
            holder.rollback()
            holder.close()

    return TestClient(app, raise_server_exceptions=False)


def test_a_lock_the_database_gave_up_on_is_503_with_retry_after(client: TestClient) -> None:
    answer = client.get("/locked")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["type"] == "urn:thawgate:problem:unavailable"


def test_a_statement_that_can_never_succeed_is_not_called_unavailable(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    answer = client.get("/missing")
    assert answer.status_code == 500  # not 503: a retry would fail the same way
    assert "retry-after" not in answer.headers
    # raised on to the server, which logs its traceback, rather than one warning line
    assert not [r for r in caplog.records if "database unavailable" in r.getMessage()]
