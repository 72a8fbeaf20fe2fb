"""Central authority figures, on a fresh SQLite database of the bench's own.

- what recording grants' last use adds to one authorization: `env.authorize` (Cedar, then
  `grant_use.note_use`) for a principal whose role comes from a grant, against Cedar alone;
- alert webhook throughput: alerts raised, then delivered by `webhooks.deliver_due` to a local
  HTTP receiver that verifies every signature with the `standardwebhooks` library.

    python bench/authority.py [--calls 20000] [--alerts 2000]
"""

from __future__ import annotations

import argparse
import base64
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from standardwebhooks.webhooks import Webhook  # noqa: E402

from thawgate import bootstrap  # noqa: E402
from thawgate.adapters.db.engine import make_engine  # noqa: E402
from thawgate.adapters.notify.webhook import WebhookSender  # noqa: E402
from thawgate.config import Settings  # noqa: E402
from thawgate.services import alerts, grants, loader, webhooks  # noqa: E402
from thawgate.services.env import actor_of, authorize  # noqa: E402
from thawgate.services.grants import GRANTS  # noqa: E402


def build(tmp: Path) -> bootstrap.App:
    settings = Settings(database_url=f"sqlite:///{tmp / 'bench.db'}")
    engine = make_engine(settings.database_url)
    bootstrap.migrate(settings, engine)
    engine.dispose()
    app = bootstrap.build(settings)
    admins = [
        {"id": "ada", "team": "security", "roles": ["access_admin"]},
        {"id": "abe", "team": "security", "roles": ["access_admin"]},
        {"id": "gus", "team": "compliance", "roles": []},
    ]
    loader.load_world(app.uow(), app.env, {"principals": admins, "accounts": []})
    return app


def bench_authorize(app: bootstrap.App, calls: int) -> None:
    with app.uow(readonly=True) as uow:
        ada = uow.principals.get("ada")
    if ada is None:
        raise SystemExit("no admin")
    g = grants.propose(
        app.uow(),
        app.env,
        actor=ada,
        principal_id="gus",
        role="auditor",
        expires_at=app.env.clock() + timedelta(days=30),
        justification="bench",
    )
    with app.uow(readonly=True) as uow:
        abe = uow.principals.get("abe")
    if abe is None:
        raise SystemExit("no second admin")
    grants.approve(app.uow(), app.env, actor=abe, grant_id=g.id, comment="bench")
    with app.uow(readonly=True) as uow:
        gus = uow.principals.get("gus", as_of=app.env.clock())
    if gus is None or "auditor" not in gus.roles:
        raise SystemExit("the bench grant did not take effect")

    def cedar_only() -> None:
        if not app.env.authorizer.authorize(actor_of(gus), "read_grants", GRANTS).allowed:
            raise SystemExit("refused")

    def with_last_use() -> None:
        with app.uow(readonly=True) as uow:
            authorize(
                uow, app.env, principal=gus, action="read_grants", resource=GRANTS, subject="g"
            )

    def with_uow_only() -> None:
        with app.uow(readonly=True):
            cedar_only()

    for name, fn in (
        ("Cedar alone", cedar_only),
        ("Cedar in a read-only unit of work", with_uow_only),
        ("env.authorize (Cedar + last use)", with_last_use),
    ):
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        samples.sort()
        print(
            f"{name:36} median {statistics.median(samples) * 1e6:7.1f} us, "
            f"p99 {samples[int(len(samples) * 0.99)] * 1e6:7.1f} us ({calls} calls)"
        )
    with app.engine.connect() as conn:
        used = conn.exec_driver_sql("SELECT last_used_at FROM grants").scalar_one()
    print(f"grant last_used_at recorded: {used}")


def bench_webhook(app: bootstrap.App, count: int) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    verifier = Webhook(secret)
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            verifier.verify(body, dict(self.headers.items()))
            received.append(self.headers["webhook-id"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = WebhookSender(f"http://127.0.0.1:{server.server_address[1]}/", secret)
    t0 = time.perf_counter()
    with app.uow() as uow:
        for n in range(count):
            alerts.raise_alert(
                uow, app.env, kind="bench", severity="info", subject=f"bench:{n}", data={"n": n}
            )
        uow.commit()
    raised = time.perf_counter() - t0
    t0 = time.perf_counter()
    while len(received) < count:
        webhooks.deliver_due(app.uow, app.env, sender)
    delivered = time.perf_counter() - t0
    server.shutdown()
    if len(set(received)) != count:
        raise SystemExit("an alert was delivered twice or not at all")
    print(
        f"alert webhook: {count} alerts raised in {raised:.2f} s; delivered and verified in "
        f"{delivered:.2f} s = {count / delivered:,.0f} alerts/s (one worker, sequential POSTs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--alerts", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = build(Path(tmp))
        bench_authorize(app, args.calls)
        bench_webhook(app, args.alerts)
        app.engine.dispose()


if __name__ == "__main__":
    main()
