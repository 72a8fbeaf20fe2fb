"""One settings object, read once in bootstrap (prefix THAWGATE_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PLACEHOLDER_SECRET = "dev-only-change-me"  # noqa: S105  # refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THAWGATE_", extra="ignore")

    mode: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./thawgate.db"
    # PostgreSQL: a pooled connection idle this long is pinged before reuse (0: every time).
    db_ping_after_idle_seconds: float = 2.0
    policy_dir: Path = PROJECT_ROOT / "policies" / "default"
    migrations_dir: Path = PROJECT_ROOT / "migrations"
    token_ttl_hours: int = 8
    secret_key: str = PLACEHOLDER_SECRET
    worker_poll_seconds: float = 0.5
    worker_batch: int = 50
    job_lease_seconds: int = 60
    job_max_attempts: int = 5
    log_level: str = "INFO"
    # `local` (Thawgate's own tables) or `http` (docs/account-system.md at account_system_url).
    account_system: Literal["local", "http"] = "local"
    account_system_url: str = "http://127.0.0.1:8900"
    account_system_timeout: float = 5.0
    # Only the test suite and `make db-check` read this: a PostgreSQL to run against.
    test_postgres_url: str | None = None

    # The audit log (docs/audit.md): the Ed25519 key that signs checkpoints (`thawgate init`
    # generates one in development; production refuses to start without it), the witness file
    # outside the database that every checkpoint is also appended to, the log's name in its
    # checkpoints, and how often the worker checks whether a new checkpoint is due.
    audit_key_file: Path = Path(".thawgate") / "audit-ed25519.pem"
    checkpoint_file: Path = Path(".thawgate") / "checkpoints.jsonl"
    audit_origin: str = "thawgate.local/audit"
    checkpoint_seconds: float = 1.0

    # Central authority (docs/authority.md): how often a process looks for a policy version
    # activated elsewhere, and where alerts are also POSTed (empty: only GET /v1/alerts).
    policy_refresh_seconds: float = 2.0
    alert_webhook_url: str = ""
    # The alert webhook (Standard Webhooks): its signing secret (`whsec_` + base64, required
    # with a URL) and the timeout of one delivery attempt.
    alert_webhook_secret: str = ""
    alert_webhook_timeout: float = 5.0
    # Access reviews: an active grant not confirmed within this many days is overdue.
    access_review_days: int = 90

    # The console (docs/console.md): a session ends after this many idle minutes (and always when
    # its token expires, token_ttl_hours), and a request's review is due this many hours after
    # it was filed (the SLA badge in the queue).
    console_idle_minutes: int = 30
    review_sla_hours: int = 24

    # Test-only crash injection, e.g. "after_apply:0.3,before_commit:0.3": at each named fault
    # point the process kills itself (SIGKILL) with that probability. Refused in production.
    fault_crash: str = ""

    def check(self) -> None:
        """Refuse placeholder secrets and test hooks outside development, and unknown values."""
        if self.log_level.upper() not in LOG_LEVELS:
            raise ValueError(
                f"THAWGATE_LOG_LEVEL: {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}"
            )
        if self.mode == "production" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("THAWGATE_SECRET_KEY must be set in production mode")
        if self.mode == "production" and self.fault_crash:
            raise ValueError("THAWGATE_FAULT_CRASH is a test hook; it is refused in production")
        if self.alert_webhook_url and not self.alert_webhook_secret:
            raise ValueError(
                "THAWGATE_ALERT_WEBHOOK_SECRET must be set with THAWGATE_ALERT_WEBHOOK_URL: "
                "alerts are only ever sent signed"
            )
        if self.mode == "production" and not self.audit_key_file.is_file():
            raise ValueError(
                f"THAWGATE_AUDIT_KEY_FILE: no audit signing key at {self.audit_key_file}; "
                "production never generates one (docs/audit.md)"
            )
