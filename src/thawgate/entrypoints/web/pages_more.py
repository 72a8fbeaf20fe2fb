"""The requester's pages (a new request, my requests), the audit page and the dashboard."""
# No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from thawgate.adapters.db.console_repo import QueueFilter
from thawgate.domain.catalog import EvidenceType
from thawgate.domain.errors import DomainError, ValidationFailed
from thawgate.domain.request import Evidence
from thawgate.entrypoints import audit_wiring
from thawgate.entrypoints.web import i18n
from thawgate.entrypoints.web.context import Console, observed_time, redirect
from thawgate.entrypoints.web.refusals import refusal
from thawgate.services import audit_verify, console_reports, intake
from thawgate.services import console as console_service
from thawgate.services.intake import NewRequest

Text = Annotated[str, Form(max_length=4000)]
EVIDENCE_ROWS = 3
AUDIT_SEQ_MAX = 2**63 - 1  # the audit log's sequence numbers are 64-bit


@dataclass
class VerifyResult:
    at: datetime
    ok: bool
    size: int
    problems: list[str]


def router(console: Console) -> APIRouter:  # one closure per page, by design
    routes = APIRouter(include_in_schema=False)
    app = console.app
    last_verify: list[VerifyResult] = []
    verify_lock = threading.Lock()

    @routes.get("/my", response_class=HTMLResponse)
    def my_requests(request: Request, page: int = 1) -> Response:
        viewer = console.viewer(request)
        result = console_service.queue_page(
            app.uow(readonly=True),
            app.env,
            actor=viewer.principal,
            filters=QueueFilter(statuses=(), requester=viewer.principal.id),
            sort="newest",
            page=page,
            page_size=50,
        )
        return console.render(request, "my_requests.html", viewer, result=result)

    def new_form(request: Request, status: int = 200, **context: object) -> Response:
        viewer = console.viewer(request)
        return console.render(
            request,
            "new_request.html",
            viewer,
            status,
            evidence_types=sorted(EvidenceType.__members__),
            rows=range(EVIDENCE_ROWS),
            **context,
        )

    @routes.get("/requests/new", response_class=HTMLResponse)
    def show_new(request: Request, account: str = "") -> Response:
        return new_form(request, form={"account_id": account})

    @routes.post("/requests/new")
    async def submit(request: Request) -> Response:
        viewer = console.viewer(request)
        form = await request.form()
        console.check_csrf(viewer.csrf, form)
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        try:
            created = intake.submit(
                app.uow(),
                app.env,
                actor=viewer.principal,
                body=_new_request(values),
                idempotency_key=None,
            )
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return new_form(request, status, form=values, **problem)
        return redirect(f"/requests/{created.id}?done=submitted")

    @routes.get("/audit", response_class=HTMLResponse)
    def audit(
        request: Request,
        actor: str = "",
        subject: str = "",
        action: str = "",
        before: Annotated[int, Query(ge=0, le=AUDIT_SEQ_MAX)] = 0,
    ) -> Response:
        viewer = console.viewer(request)
        try:
            page = console_reports.audit_page(
                app.uow(readonly=True),
                app.env,
                actor=viewer.principal,
                who=actor.strip() or None,
                subject=subject.strip() or None,
                action=action.strip() or None,
                before_seq=before or None,
            )
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return console.render(request, "error.html", viewer, status, **problem)
        return console.render(
            request,
            "audit.html",
            viewer,
            page=page,
            q={"actor": actor, "subject": subject, "action": action},
            verified=last_verify[-1] if last_verify else None,
        )

    @routes.post("/audit/verify")
    async def verify(request: Request) -> Response:
        viewer = console.viewer(request)
        console.check_csrf(viewer.csrf, await request.form())
        try:  # the same check as `thawgate audit verify`, on this database and witness file
            console_reports.audit_page(
                app.uow(readonly=True),
                app.env,
                actor=viewer.principal,
                who=None,
                subject=None,
                action=None,
                before_seq=None,
            )
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return console.render(request, "error.html", viewer, status, **problem)
        with verify_lock:
            report = audit_verify.verify_database(
                app.uow,
                key=audit_wiring.trusted_key(app.settings),
                read_witness=audit_wiring.witness(app.settings).read,
            )
            last_verify.append(
                VerifyResult(
                    datetime.now(UTC), report.ok, report.size, [str(p) for p in report.problems]
                )
            )
            del last_verify[:-1]
        return redirect("/audit")

    @routes.get("/audit/proof/{seq}", response_class=HTMLResponse)
    def proof(request: Request, seq: int) -> Response:
        viewer = console.viewer(request)
        try:
            checked = console_reports.checked_inclusion(
                app.uow(readonly=True), app.env, actor=viewer.principal, seq=seq
            )
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return console.render(request, "error.html", viewer, status, **problem)
        return console.render(request, "proof.html", viewer, p=checked)

    @routes.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request) -> Response:
        viewer = console.viewer(request)
        try:
            d = console_reports.dashboard(app.uow(readonly=True), app.env, actor=viewer.principal)
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return console.render(request, "error.html", viewer, status, **problem)
        return console.render(
            request, "dashboard.html", viewer, d=d, charts=_charts(d, viewer.lang)
        )

    return routes


def _new_request(values: dict[str, str]) -> NewRequest:
    """The form's fields as a new request; bad input is a ValidationFailed naming the field."""
    targets = [t.strip() for t in values.get("targets", "").replace(",", " ").split() if t.strip()]
    evidence = []
    for i in range(EVIDENCE_ROWS):
        kind = values.get(f"evidence_type_{i}", "").strip()
        reference = values.get(f"evidence_reference_{i}", "").strip()
        observed = values.get(f"evidence_observed_at_{i}", "").strip()
        if not (kind or reference):
            continue
        if not (kind and reference and observed):
            raise ValidationFailed(
                f"evidence {i + 1}: type, reference and time are all needed", field="evidence"
            )
        evidence.append(Evidence(kind, reference, observed_time(observed, f"evidence {i + 1}")))
    duration = values.get("duration_hours", "").strip()
    if duration and not duration.isdigit():
        raise ValidationFailed("duration_hours: a whole number of hours", field="duration_hours")
    return NewRequest(
        kind=values.get("kind", ""),
        account_id=values.get("account_id", "").strip(),
        targets=targets,
        justification=values.get("justification", "").strip(),
        evidence=evidence,
        ticket=values.get("ticket", "").strip() or None,
        duration_hours=int(duration) if duration else None,
    )


def _charts(d: console_reports.Dashboard, lang: str) -> str:
    """The dashboard's chart data as JSON for static/console.js (no inline script)."""
    _ = i18n.gettext_for(lang)
    outcome_names = {
        "executed": _("executed"),
        "rejected": _("rejected"),
        "withdrawn": _("withdrawn"),
        "expired": _("expired"),
        "reverted": _("reverted"),
        "failed": _("failed"),
        "open": _("open"),
    }
    teams = list(d.per_team)
    data = {
        "perDay": {
            "labels": [
                i18n.format_day(datetime.combine(x, datetime.min.time(), UTC), lang) for x in d.days
            ],
            "series": [{"label": outcome_names[o], "data": v} for o, v in d.per_day.items()],
        },
        "decision": {
            "labels": [label for label, _n in d.decision_buckets],
            "series": [
                {"label": _("decided requests"), "data": [n for _l, n in d.decision_buckets]}
            ],
        },
        "perTeam": {
            "labels": teams,
            "series": [
                {"label": outcome_names[o], "data": [d.per_team[t].get(o, 0) for t in teams]}
                for o in console_reports.OUTCOMES
            ],
        },
        "executions": {
            "labels": [_("stale requests"), _("failed jobs"), _("queued jobs")],
            "series": [
                {
                    "label": _("count"),
                    "data": [d.stale_requests, d.jobs.get("failed", 0), d.jobs.get("queued", 0)],
                }
            ],
        },
    }
    if d.bad_thaws is not None:
        data["badThaws"] = {
            "labels": [rule for rule, _n in d.bad_thaws.per_rule],
            "series": [{"label": _("hits"), "data": [n for _r, n in d.bad_thaws.per_rule]}],
        }
    return json.dumps(data, ensure_ascii=False)
