"""Plain functions that drive the services the way the API does."""

from __future__ import annotations

from datetime import timedelta

from thawgate.bootstrap import App
from thawgate.domain.model import Principal
from thawgate.domain.request import Evidence, Request
from thawgate.services import execution, intake, review


def who(app: App, pid: str) -> Principal:
    with app.uow(readonly=True) as uow:
        p = uow.principals.get(pid)
    assert p is not None, pid
    return p


def liveness(app: App, hours_ago: float = 1) -> Evidence:
    return Evidence("KYC_LIVENESS_PASS", "kyc-1", app.env.clock() - timedelta(hours=hours_ago))


def submit(
    app: App,
    requester: str,
    account: str,
    targets: list[str],
    evidence: list[Evidence] | None = None,
    kind: str = "thaw",
    key: str | None = None,
) -> Request:
    body = intake.NewRequest(
        kind=kind,
        account_id=account,
        targets=targets,
        justification="verified",
        evidence=evidence or [liveness(app)],
    )
    return intake.submit(
        app.uow(), app.env, actor=who(app, requester), body=body, idempotency_key=key
    )


def approve(app: App, reviewer: str, request_id: str, digest: str | None = None) -> Request:
    return review.approve(
        app.uow(),
        app.env,
        actor=who(app, reviewer),
        request_id=request_id,
        comment="ok",
        state_digest=digest,
    )


def drain(app: App, worker: str = "w1") -> execution.RunResult:
    return execution.run_once(
        app.uow, app.env, worker=worker, lease=timedelta(seconds=30), batch=50
    )


def status(app: App, request_id: str) -> str:
    with app.uow(readonly=True) as uow:
        r = uow.requests.get(request_id)
    assert r is not None
    return r.status
