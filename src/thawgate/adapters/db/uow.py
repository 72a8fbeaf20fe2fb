"""The unit of work: one transaction, its repositories, and one commit."""

from __future__ import annotations

from types import TracebackType

import sqlalchemy as sa

from thawgate.adapters.db.accounts_repo import AccountRepository
from thawgate.adapters.db.alerts_repo import AlertRepository
from thawgate.adapters.db.audit_repo import AuditRepository
from thawgate.adapters.db.break_glass_repo import BreakGlassRepository
from thawgate.adapters.db.console_repo import ConsoleRepository
from thawgate.adapters.db.grants_repo import GrantRepository
from thawgate.adapters.db.jobs_repo import JobRepository
from thawgate.adapters.db.monitoring_repo import MonitoringRepository
from thawgate.adapters.db.policy_versions_repo import PolicyVersionRepository
from thawgate.adapters.db.principals_repo import PrincipalRepository
from thawgate.adapters.db.relocks_repo import RelockRepository
from thawgate.adapters.db.requests_repo import RequestRepository
from thawgate.adapters.db.scim_repo import ScimRepository


class UnitOfWork:
    """`with uow: ...; uow.commit()`. Leaving the block without commit rolls back."""

    accounts: AccountRepository
    requests: RequestRepository
    principals: PrincipalRepository
    jobs: JobRepository
    audit: AuditRepository
    relocks: RelockRepository
    grants: GrantRepository
    alerts: AlertRepository
    policy_versions: PolicyVersionRepository
    console: ConsoleRepository
    monitoring: MonitoringRepository
    break_glass: BreakGlassRepository
    scim: ScimRepository

    def __init__(self, engine: sa.Engine, *, readonly: bool = False) -> None:
        self.engine = engine
        self.readonly = readonly
        self._conn: sa.Connection | None = None
        self._tx: sa.RootTransaction | None = None

    @property
    def conn(self) -> sa.Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._conn

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __enter__(self) -> UnitOfWork:
        conn = self.engine.connect()
        if self.readonly:
            conn = conn.execution_options(readonly=True)
        self._conn = conn
        self._tx = conn.begin()
        postgres = self.dialect == "postgresql"
        self.accounts = AccountRepository(conn, lock_rows=postgres)
        self.requests = RequestRepository(conn, lock_rows=postgres)
        self.principals = PrincipalRepository(conn)
        self.relocks = RelockRepository(conn)
        self.jobs = JobRepository(conn, skip_locked=postgres)
        self.audit = AuditRepository(conn, lock_rows=postgres)
        self.grants = GrantRepository(conn, lock_rows=postgres)
        self.alerts = AlertRepository(conn)
        self.policy_versions = PolicyVersionRepository(conn, lock_rows=postgres)
        self.console = ConsoleRepository(conn)
        self.monitoring = MonitoringRepository(conn, lock_rows=postgres)
        self.break_glass = BreakGlassRepository(conn, lock_rows=postgres)
        self.scim = ScimRepository(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._tx = None

    def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit outside the unit of work")
        self.audit.flush()  # deferred audit events land in the same transaction
        self._tx.commit()

    def rollback(self) -> None:
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()
