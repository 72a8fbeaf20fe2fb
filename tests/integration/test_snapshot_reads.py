"""One-statement reads run without BEGIN/ROLLBACK only where that is safe (adapters/db/snapshot)."""

from __future__ import annotations

import psycopg
import pytest
from tests.integration.conftest import ON_POSTGRES

from thawgate.adapters.db.snapshot import pg_driver, statement_snapshot
from thawgate.bootstrap import App

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="SQLite reads are local: there is no round trip to save"
)
IDLE, IN_TRANSACTION = psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS


def test_the_first_read_of_a_read_only_unit_runs_outside_a_transaction(app: App) -> None:
    with app.uow(readonly=True) as uow:
        driver = pg_driver(uow.conn)
        with statement_snapshot(uow.conn):
            assert driver.autocommit
            uow.conn.exec_driver_sql("SELECT 1").all()
        assert driver.info.transaction_status == IDLE
        assert not driver.autocommit  # restored for whatever the unit does next
        uow.conn.exec_driver_sql("SELECT 1").all()
        assert driver.info.transaction_status == IN_TRANSACTION


def test_a_writing_unit_keeps_its_transaction(app: App) -> None:
    with app.uow() as uow:
        driver = pg_driver(uow.conn)
        with statement_snapshot(uow.conn):
            assert not driver.autocommit
            uow.conn.exec_driver_sql("SELECT 1").all()
        assert driver.info.transaction_status == IN_TRANSACTION


def test_a_read_after_others_joins_their_snapshot(app: App) -> None:
    with app.uow(readonly=True) as uow:
        driver = pg_driver(uow.conn)
        uow.conn.exec_driver_sql("SELECT 1").all()
        with statement_snapshot(uow.conn):
            assert not driver.autocommit
            uow.conn.exec_driver_sql("SELECT 1").all()
        assert driver.info.transaction_status == IN_TRANSACTION
