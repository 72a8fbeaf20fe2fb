"""The alert webhook: delivered after commit from an outbox, signed per Standard Webhooks, retried
until it lands. Against a real local HTTP server that verifies with the `standardwebhooks` library.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tests.integration.authority_support import caller, load_admins
from tests.integration.conftest import Clock, count_rows
from tests.integration.helpers import submit

from thawgate import bootstrap
from thawgate.adapters.notify.webhook import WebhookSender
from thawgate.bootstrap import App
from thawgate.entrypoints import worker
from thawgate.services import alerts, break_glass, webhooks

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
WHY = "pager outage: customer locked out during a verified incident call"


@dataclass
class Receiver:
    """A webhook receiver: verifies each message; answers with the next queued status."""

    url: str
    verified: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # queued statuses; then 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    verifier = Webhook(SECRET)
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            headers = dict(self.headers.items())
            try:
                message = verifier.verify(body, headers)
            except WebhookVerificationError as exc:
                state.refused.append(str(exc))
                self.send_response(401)
                self.end_headers()
                return
            status = state.answers.pop(0) if state.answers else 204
            if status < 300:
                state.verified.append(message)
                state.headers.append({k.lower(): v for k, v in headers.items()})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/thawgate"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def org(loaded: App) -> App:
    load_admins(loaded)
    return loaded


def _break_glass(app: App) -> str:
    r = submit(app, "alice", "A1", ["r-ato"])
    break_glass.break_glass(
        app.uow(), app.env, actor=caller(app, "sam"), request_id=r.id, justification=WHY
    )
    return r.id


def test_a_break_glass_alert_is_delivered_signed(org: App, receiver: Receiver) -> None:
    request_id = _break_glass(org)
    pending = "SELECT count(*) FROM alert_deliveries WHERE status = 'pending'"
    assert count_rows(org, pending) == 1  # committed with the alert, not yet sent
    assert receiver.verified == []
    sender = WebhookSender(receiver.url, SECRET)
    result = webhooks.deliver_due(org.uow, org.env, sender)
    assert (result.delivered, result.failed) == (1, 0)
    [message] = receiver.verified
    assert message["type"] == "alert.break_glass"
    assert message["data"]["request_id"] == request_id
    assert message["data"]["data"]["principal"] == "sam"
    alert_id = message["data"]["id"]
    assert receiver.headers[0]["webhook-id"] == alert_id
    assert receiver.headers[0]["webhook-signature"].startswith("v1,")
    assert count_rows(org, "SELECT count(*) FROM alert_deliveries WHERE status = 'delivered'") == 1
    assert webhooks.deliver_due(org.uow, org.env, sender).delivered == 0  # once is enough


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(
    org: App, receiver: Receiver, clock: Clock
) -> None:
    _break_glass(org)
    impostor = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    result = webhooks.deliver_due(org.uow, org.env, WebhookSender(receiver.url, impostor))
    assert (result.delivered, result.failed) == (0, 1)
    assert receiver.refused == ["No matching signature found"]
    last_error = "SELECT last_error FROM alert_deliveries"
    with org.engine.connect() as conn:
        assert "HTTP 401" in conn.exec_driver_sql(last_error).scalar_one()
    clock.advance(seconds=2)
    assert webhooks.deliver_due(org.uow, org.env, WebhookSender(receiver.url, SECRET)).delivered


def test_failures_are_retried_with_backoff_and_never_lost(
    org: App, receiver: Receiver, clock: Clock
) -> None:
    _break_glass(org)
    sender = WebhookSender(receiver.url, SECRET)
    receiver.answers = [500, 503]
    assert webhooks.deliver_due(org.uow, org.env, sender).failed == 1
    assert webhooks.deliver_due(org.uow, org.env, sender).failed == 0  # backing off: not due
    clock.advance(seconds=1)
    assert webhooks.deliver_due(org.uow, org.env, sender).failed == 1
    clock.advance(seconds=1)
    assert webhooks.deliver_due(org.uow, org.env, sender).failed == 0  # 2 s after the second
    clock.advance(seconds=1)
    assert webhooks.deliver_due(org.uow, org.env, sender).delivered == 1
    assert len(receiver.verified) == 1
    attempts = "SELECT attempts FROM alert_deliveries WHERE status = 'delivered'"
    assert count_rows(org, attempts) == 3

    # The receiver gone altogether: connection refused, kept pending, retried later.
    dead = WebhookSender("http://127.0.0.1:9/nothing-listens", SECRET, timeout=1)
    with org.uow() as uow:
        alerts.raise_alert(
            uow, org.env, kind="post_thaw", severity="warning", subject="account:A1", data={}
        )
        uow.commit()
    assert webhooks.deliver_due(org.uow, org.env, dead).failed == 1
    assert count_rows(org, "SELECT count(*) FROM alert_deliveries WHERE status = 'pending'") == 1
    clock.advance(seconds=5)
    assert webhooks.deliver_due(org.uow, org.env, sender).delivered == 1
    assert [m["type"] for m in receiver.verified] == ["alert.break_glass", "alert.post_thaw"]


def test_an_alert_rolled_back_with_its_transaction_is_never_sent(
    org: App, receiver: Receiver
) -> None:
    with org.uow() as uow:
        alerts.raise_alert(
            uow, org.env, kind="post_thaw", severity="warning", subject="account:A1", data={}
        )  # no commit: the change it belonged to failed
    assert webhooks.deliver_due(org.uow, org.env, WebhookSender(receiver.url, SECRET)) == (
        webhooks.DeliveryResult(0, 0)
    )
    assert receiver.verified == []


def test_the_worker_delivers_alerts_when_a_webhook_is_configured(
    org: App, receiver: Receiver
) -> None:
    configured = bootstrap.build(
        org.settings.model_copy(
            update={"alert_webhook_url": receiver.url, "alert_webhook_secret": SECRET}
        )
    )
    _break_glass(org)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(configured, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not receiver.verified and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
        configured.engine.dispose()
    assert [json.dumps(m["type"]) for m in receiver.verified] == ['"alert.break_glass"']


def test_a_url_without_a_secret_is_refused(org: App) -> None:
    with pytest.raises(ValueError, match="ALERT_WEBHOOK_SECRET"):
        org.settings.model_copy(update={"alert_webhook_url": "http://127.0.0.1:1/x"}).check()
    with pytest.raises(ValueError, match="not a webhook secret"):
        WebhookSender("http://127.0.0.1:1/x", "whsec_")
