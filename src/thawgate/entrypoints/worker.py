"""The execution worker: claims jobs, runs the scheduler. In-process under `serve`."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta

import sqlalchemy as sa
import structlog

from thawgate.adapters.notify.webhook import WebhookSender
from thawgate.bootstrap import App
from thawgate.entrypoints.audit_wiring import CheckpointTicker
from thawgate.services import execution, grants, scheduler, webhooks

log = structlog.get_logger("thawgate.worker")
SCHEDULER_EVERY = 10.0
DATABASE_RETRY_S = 1.0  # the wait after a pass that the database failed


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run(app: App, stop: threading.Event, *, name: str | None = None) -> None:
    """Loop until `stop` is set. Each pass settles up to a batch of jobs."""
    name = name or worker_name()
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    next_schedule = 0.0
    checkpoints = CheckpointTicker(app)  # signs the audit log, batched: at most 1/s
    alert_webhook = webhook_sender(app)  # delivers alerts after commit (services/webhooks.py)
    while not stop.is_set():
        try:
            result = execution.run_once(
                app.uow, app.env, worker=name, lease=lease, batch=app.settings.worker_batch
            )
            if result.claimed:
                log.info(
                    "jobs settled",
                    worker=name,
                    **{
                        "claimed": result.claimed,
                        "executed": result.executed,
                        "moved": result.stale_or_rejected,
                        "retried": result.retried,
                        "failed": result.failed,
                    },
                )
            if time.monotonic() >= next_schedule:
                expired = scheduler.expire_pending(app.uow(), app.env)
                lapsed = scheduler.lapse_restrictions(app.uow(), app.env)
                lapsed += scheduler.relock_due(app.uow(), app.env)
                lapsed += grants.lapse_expired(app.uow(), app.env)  # grants past expiry (item 8)
                if expired or lapsed:
                    log.info("scheduler", expired_requests=expired, lapsed_restrictions=lapsed)
                next_schedule = time.monotonic() + SCHEDULER_EVERY
            checkpoints.tick()
            if alert_webhook is not None:
                sent = webhooks.deliver_due(app.uow, app.env, alert_webhook)
                if sent.delivered or sent.failed:
                    log.info("alert webhook", delivered=sent.delivered, failed=sent.failed)
            if result.claimed < app.settings.worker_batch:
                stop.wait(app.settings.worker_poll_seconds)
        except sa.exc.OperationalError as exc:
            # A restart or a failover dropped the connection (a busy pool's connections are
            # not pinged: adapters/db/engine.py), or the database is down. The pass rolled
            # back, the disconnect invalidated the pool, and the jobs' leases make the next
            # pass safe.
            log.warning("database unavailable", worker=name, error=str(exc.orig))
            stop.wait(DATABASE_RETRY_S)


def webhook_sender(app: App) -> WebhookSender | None:
    s = app.settings
    if not s.alert_webhook_url:
        return None
    return WebhookSender(
        s.alert_webhook_url, s.alert_webhook_secret, timeout=s.alert_webhook_timeout
    )


def start_in_thread(app: App) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app, stop), name="thawgate-worker", daemon=True)
    thread.start()
    return thread, stop
