"""The schema, as SQLAlchemy Core tables. Alembic migrations are the only way it changes.

Hot queries are keyed by account id or request id, so sharding by account stays possible.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which keeps no zone) and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime written to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, _dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


Json = sa.JSON().with_variant(JSONB(), "postgresql")

principals = sa.Table(
    "principals",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("team", sa.String(64), nullable=False),
    sa.Column("roles", Json, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("principal_id", sa.String(128), sa.ForeignKey("principals.id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

restrictions = sa.Table(
    "restrictions",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("account_id", sa.String(128), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("scope", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("placed_by", sa.String(128), nullable=False),
    sa.Column("placed_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("placers", Json, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("changed_at", UtcDateTime, nullable=True),
    sa.Column("lifted_by_request", sa.String(64), nullable=True),
    # The request whose plan placed it: a cooldown, a time-boxed thaw's re-freeze, a revert.
    sa.Column("placed_by_request", sa.String(64), nullable=True),
    sa.Index("ix_restrictions_account_id", "account_id"),
    sa.Index("ix_restrictions_status_expires_at", "status", "expires_at"),
)

bindings = sa.Table(
    "bindings",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("account_id", sa.String(128), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("bound_at", UtcDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("changed_at", UtcDateTime, nullable=True),
    sa.Index("ix_bindings_account_id", "account_id"),
)

account_events = sa.Table(
    "account_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("account_id", sa.String(128), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("country", sa.String(8), nullable=True),
    sa.Column("device", sa.String(128), nullable=True),
    sa.Column("amount_usd", sa.String(32), nullable=True),
    sa.Column("address", sa.String(256), nullable=True),
    sa.Index("ix_account_events_account_id_at", "account_id", "at"),
    # The linked-accounts risk factor joins accounts on a shared device or IP.
    sa.Index("ix_account_events_device", "device"),
    sa.Index("ix_account_events_ip", "ip"),
)

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("account_id", sa.String(128), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("targets", Json, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=True),
    sa.Column("requester", sa.String(128), sa.ForeignKey("principals.id"), nullable=False),
    sa.Column("ticket", sa.String(256), nullable=True),
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("evidence", Json, nullable=False),
    sa.Column("duration_hours", sa.Integer, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("evidence_as_of", UtcDateTime, nullable=False),
    sa.Column("decision", Json, nullable=False),
    sa.Column("facts", Json, nullable=False),
    sa.Column("plan", Json, nullable=False),
    sa.Column("state_digest", sa.String(64), nullable=False),
    sa.Column("approvals", Json, nullable=False),
    sa.Column("stale_count", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("idempotency_key", sa.String(256), nullable=True),
    sa.Column("body_sha256", sa.String(64), nullable=True),
    # Copies kept for the console's queue filters (migration 0008): the risk score of the
    # decision, and the reasons of the targeted restrictions as " R1 R2 " (matched with LIKE).
    sa.Column("risk_score", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reasons", sa.String(512), nullable=False, server_default=""),
    sa.UniqueConstraint("requester", "idempotency_key"),
    sa.Index("ix_requests_account_id", "account_id"),
    # The queue's index: by status and age, carrying (on PostgreSQL) every column the queue
    # filters on, so a page of 10,000 pending requests never reads the wide rows (migration 0008).
    sa.Index(
        "ix_requests_queue",
        "status",
        "created_at",
        "id",
        postgresql_include=["risk_score", "reasons", "requester", "kind", "account_id"],
    ),
    sa.Index("ix_requests_requester_created_at", "requester", "created_at"),
)

# One row per target of an open request: the UNIQUE key refuses a second open request.
open_targets = sa.Table(
    "open_targets",
    metadata,
    sa.Column("target_id", sa.String(128), primary_key=True),
    sa.Column("request_id", sa.String(64), sa.ForeignKey("requests.id"), nullable=False),
)

# The transactional outbox: one execution job per request.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), sa.ForeignKey("requests.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # queued | running | done | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("run_after", UtcDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claimed_until", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("request_id"),
    sa.Index("ix_jobs_status_run_after", "status", "run_after"),
)

# The audit log. Append-only: triggers refuse UPDATE and DELETE (see the migration). `data` is
# the JCS text of the event's data, kept verbatim (`json`, not JSONB, on PostgreSQL: migration
# 0005), so verification hashes the stored bytes instead of re-serializing every event.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(96), nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_audit_events_subject", "subject"),
)

# A single row locked by each appender: the gap-free sequence (a database sequence leaves gaps).
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("next_seq", sa.BigInteger, nullable=False),
)

# A time-boxed thaw re-places the same scope and reason when it runs out.
relocks = sa.Table(
    "relocks",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), sa.ForeignKey("requests.id"), nullable=False),
    sa.Column("account_id", sa.String(128), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("lifted_restriction", sa.String(128), nullable=False),
    sa.Column("scope", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | done | cancelled
    sa.Column("placed_restriction", sa.String(128), nullable=True),
    sa.Index("ix_relocks_status_due_at", "status", "due_at"),
)

policy_versions = sa.Table(
    "policy_versions",
    metadata,
    sa.Column("version", sa.String(128), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # draft | active | retired
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("activated_by", sa.String(128), nullable=True),
    sa.Column("activated_at", UtcDateTime, nullable=True),
    # Who asked for the current activation (an upload, or a re-upload of a retired version):
    # a second policy admin must approve it (migration 0004).
    sa.Column("proposed_by", sa.String(128), nullable=True),
    sa.Column("proposed_at", UtcDateTime, nullable=True),
)

# The audit log's Merkle tree (RFC 6962), written in the transaction of each audit event: one row
# per complete subtree. (level, position) covers the leaves [position * 2**level,
# (position + 1) * 2**level); level 0 holds the leaf hashes. Append-only (see migration 0003).
audit_nodes = sa.Table(
    "audit_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)

# Signed checkpoints of the audit log: C2SP signed notes, one per tree size. Append-only.
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column(
        "size",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("origin", sa.String(256), nullable=False),
    sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("key_id", sa.String(8), nullable=False),
    sa.Column("signature", sa.LargeBinary(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

# Central authority (migration 0004). A role grant: proposed by one access admin, approved by a
# second, lapsing at expires_at; revoked with one key. Effective roles = load-file roles + the
# active, unexpired grants (adapters/db/grants_repo.py).
grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("principal_id", sa.String(128), sa.ForeignKey("principals.id"), nullable=False),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | active | revoked | expired
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("proposed_by", sa.String(128), nullable=False),
    sa.Column("proposed_at", UtcDateTime, nullable=False),
    sa.Column("approved_by", sa.String(128), nullable=True),
    sa.Column("approved_at", UtcDateTime, nullable=True),
    sa.Column("ended_by", sa.String(128), nullable=True),
    sa.Column("ended_at", UtcDateTime, nullable=True),
    sa.Column("end_reason", sa.Text, nullable=True),
    sa.Column("reviewed_by", sa.String(128), nullable=True),
    sa.Column("reviewed_at", UtcDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_grants_principal_id_status", "principal_id", "status"),
    sa.Index("ix_grants_status_expires_at", "status", "expires_at"),
)

# Alerts: break-glass and other events someone must look at (GET /v1/alerts).
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),  # info | warning | critical
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("data", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("acknowledged_by", sa.String(128), nullable=True),
    sa.Column("acknowledged_at", UtcDateTime, nullable=True),
    sa.Index("ix_alerts_created_at", "created_at"),
)

# Access reviews: one row per verdict (confirm | revoke) on a grant.
access_reviews = sa.Table(
    "access_reviews",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("grant_id", sa.String(64), sa.ForeignKey("grants.id"), nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_access_reviews_grant_id", "grant_id"),
)

# The console (migration 0008). A claim says "I am working this request": one per request,
# lapsing at expires_at, so that two reviewers don't work the same item unknowingly.
request_claims = sa.Table(
    "request_claims",
    metadata,
    sa.Column("request_id", sa.String(64), sa.ForeignKey("requests.id"), primary_key=True),
    sa.Column("principal_id", sa.String(128), nullable=False),
    sa.Column("claimed_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

# Failed console logins, by username and by client address: the login throttle counts them
# over a sliding window, in the database so that every server process sees the same count.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("key", sa.String(256), nullable=False),  # "user:<name>" or "ip:<address>"
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_login_failures_key_at", "key", "at"),
)

# Post-thaw monitoring (migration 0006): one row per monitoring rule that fired in the window of
# an executed request. UNIQUE (request_id, rule_id): a rule fires at most once per window. The
# requester and approvers are copied at the hit, so bad-thaw counts need no join.
monitoring_hits = sa.Table(
    "monitoring_hits",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), sa.ForeignKey("requests.id"), nullable=False),
    sa.Column("rule_id", sa.String(128), nullable=False),
    sa.Column("account_id", sa.String(128), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("event_at", UtcDateTime, nullable=False),
    sa.Column("requester", sa.String(128), nullable=False),
    sa.Column("approvers", Json, nullable=False),
    sa.Column("policy_version", sa.String(128), nullable=False),
    sa.Column("alert_id", sa.String(64), nullable=False),
    sa.Column("restriction_id", sa.String(128), nullable=True),
    sa.Column("detected_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("request_id", "rule_id"),
    sa.Index("ix_monitoring_hits_detected_at", "detected_at"),
)
# --- Migration 0007: break-glass, alert webhook outbox, grant last use, SCIM identities -------

# Break-glass uses (floor item 10), each with its mandatory after-the-fact review.
break_glass = sa.Table(
    "break_glass",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), sa.ForeignKey("requests.id"), nullable=False),
    sa.Column("principal", sa.String(128), nullable=False),
    sa.Column("team", sa.String(64), nullable=False),
    sa.Column("clause", sa.String(64), nullable=False),
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("alert_id", sa.String(64), nullable=False),
    sa.Column("review_status", sa.String(16), nullable=False),  # open | done
    sa.Column("reviewed_by", sa.String(128), nullable=True),
    sa.Column("reviewed_at", UtcDateTime, nullable=True),
    sa.Column("verdict", sa.String(16), nullable=True),  # upheld | misuse
    sa.Column("review_comment", sa.Text, nullable=True),
    sa.Index("ix_break_glass_principal_at", "principal", "at"),
    sa.Index("ix_break_glass_review_status", "review_status"),
)

# The alert webhook's outbox: one row per alert, written in the alert's own transaction and
# delivered by the worker after commit (services/webhooks.py). Never deleted on failure.
alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("alert_id", sa.String(64), sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("leased_until", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delivered_at", UtcDateTime, nullable=True),
    sa.Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"),
)

# When a grant's role last authorized an action (access reviews), at most once a minute.
grants.append_column(sa.Column("last_used_at", UtcDateTime, nullable=True))
# The IdP's id for principals provisioned by SCIM sync; NULL for load-file principals.
principals.append_column(sa.Column("scim_id", sa.String(256), nullable=True, unique=True))
