"""The queue, claims, "take next", one request on one screen, and the review actions."""
# No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from thawgate.adapters.db.console_repo import SORTS, QueueFilter
from thawgate.domain.catalog import Reason
from thawgate.domain.decision import Decision, RuleHit
from thawgate.domain.errors import DomainError, Stale, ValidationFailed
from thawgate.domain.need_to_know import REDACTED_REASON
from thawgate.domain.request import Evidence
from thawgate.entrypoints.web import i18n
from thawgate.entrypoints.web.context import Console, Viewer, observed_time, redirect
from thawgate.entrypoints.web.refusals import refusal
from thawgate.policy.request_policy import DEFAULT_REVIEW, EVIDENCE_MISSING, RequestPolicy
from thawgate.services import console as console_service
from thawgate.services import queries, review

STATUSES = ("pending_approval", "needs_info", "approved", "executed", "rejected", "failed")
AGES = {"1h": 1, "4h": 4, "24h": 24, "72h": 72}
Comment = Annotated[str, Form(max_length=4000)]
Token = Annotated[str, Form()]


def router(console: Console) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    app = console.app

    @routes.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        viewer = console.viewer(request)
        if viewer.is_reviewer:
            return redirect("/queue")
        return redirect("/my" if viewer.requests else "/audit")

    @routes.get("/queue", response_class=HTMLResponse)
    def queue(
        request: Request,
        status: str = "pending_approval",
        kind: str = "",
        reason: str = "",
        band: str = "",
        team: str = "",
        age: str = "",
        sort: str = "oldest",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: int = 50,
    ) -> Response:
        viewer = console.viewer(request)
        now = app.env.clock()
        scores = console_service.band_range(band)

        def visible(c: str) -> bool:
            return console_service.visible_code(viewer.principal, c)

        hours = AGES.get(age)
        filters = QueueFilter(
            statuses=(status,) if status in STATUSES else (),
            kind=kind if kind in ("thaw", "unbind") else None,
            reason=reason if reason in Reason.__members__ else None,
            team=team or None,
            min_score=scores[0] if scores else None,
            max_score=scores[1] if scores else None,
            filed_before=now - timedelta(hours=hours) if hours else None,
        )
        result = console_service.queue_page(
            app.uow(readonly=True),
            app.env,
            actor=viewer.principal,
            filters=filters,
            sort=sort if sort in SORTS else "oldest",
            page=page,
            page_size=size if size in console_service.PAGE_SIZES else 50,
        )
        partial = request.headers.get("hx-request") == "true"
        return console.render(
            request,
            "_queue_table.html" if partial else "queue.html",
            viewer,
            result=result,
            now=now,
            sla_seconds=app.settings.review_sla_hours * 3600,
            band_of=console_service.band_of,
            f={
                "status": status,
                "kind": kind,
                "reason": reason,
                "band": band,
                "team": team,
                "age": age,
                "sort": sort,
                "size": size,
            },
            statuses=STATUSES,
            reasons=[r for r in sorted(Reason.__members__) if visible(r)],
            code=lambda c: c if visible(c) else REDACTED_REASON,
            bands=[b[0] for b in console_service.BANDS],
            ages=list(AGES),
            sorts=list(SORTS),
            page_sizes=console_service.PAGE_SIZES,
        )

    @routes.post("/queue/next")
    async def take_next(request: Request) -> Response:
        viewer = await posting(console, request)
        rid = console_service.take_next(app.uow(), app.env, actor=viewer.principal)
        return redirect(f"/requests/{rid}?done=claimed" if rid else "/queue?none=1")

    @routes.get("/requests/{request_id}", response_class=HTMLResponse)
    def detail(request: Request, request_id: str, done: str = "") -> Response:
        viewer = console.viewer(request)
        return show_detail(console, request, viewer, request_id, done=done)

    async def act(
        request: Request, request_id: str, step: str, run: Callable[[Viewer], object]
    ) -> Response:
        viewer = await posting(console, request)
        try:
            run(viewer)
        except DomainError as exc:
            return show_detail(console, request, viewer, request_id, error=exc)
        return redirect(f"/requests/{request_id}?done={step}")

    @routes.post("/requests/{request_id}/approve")
    async def approve(
        request: Request, request_id: str, comment: Comment = "", state_digest: Token = ""
    ) -> Response:
        return await act(
            request,
            request_id,
            "approved",
            lambda v: review.approve(
                app.uow(),
                app.env,
                actor=v.principal,
                request_id=request_id,
                comment=_required(comment),
                state_digest=state_digest or None,
            ),
        )

    @routes.post("/requests/{request_id}/reject")
    async def reject(request: Request, request_id: str, comment: Comment = "") -> Response:
        return await act(
            request,
            request_id,
            "rejected",
            lambda v: review.reject(
                app.uow(),
                app.env,
                actor=v.principal,
                request_id=request_id,
                comment=_required(comment),
            ),
        )

    @routes.post("/requests/{request_id}/question")
    async def question(request: Request, request_id: str, comment: Comment = "") -> Response:
        return await act(
            request,
            request_id,
            "asked",
            lambda v: review.question(
                app.uow(),
                app.env,
                actor=v.principal,
                request_id=request_id,
                comment=_required(comment),
            ),
        )

    @routes.post("/requests/{request_id}/answer")
    async def answer(
        request: Request,
        request_id: str,
        comment: Comment = "",
        evidence_type: Token = "",
        evidence_reference: Token = "",
        evidence_observed_at: Token = "",
    ) -> Response:
        def run(v: Viewer) -> None:
            evidence = []
            if evidence_type and evidence_reference:  # when it was observed, never "now"
                at = observed_time(evidence_observed_at, "evidence")
                evidence.append(Evidence(evidence_type, evidence_reference, at))
            review.answer(
                app.uow(),
                app.env,
                actor=v.principal,
                request_id=request_id,
                comment=_required(comment),
                evidence=evidence,
            )

        return await act(request, request_id, "answered", run)

    @routes.post("/requests/{request_id}/withdraw")
    async def withdraw(request: Request, request_id: str) -> Response:
        return await act(
            request,
            request_id,
            "withdrawn",
            lambda v: review.withdraw(app.uow(), app.env, actor=v.principal, request_id=request_id),
        )

    @routes.post("/requests/{request_id}/claim")
    async def claim(request: Request, request_id: str) -> Response:
        return await act(
            request,
            request_id,
            "claimed",
            lambda v: console_service.claim(
                app.uow(), app.env, actor=v.principal, request_id=request_id
            ),
        )

    @routes.post("/requests/{request_id}/release")
    async def release(request: Request, request_id: str) -> Response:
        return await act(
            request,
            request_id,
            "released",
            lambda v: console_service.release(
                app.uow(), app.env, actor=v.principal, request_id=request_id
            ),
        )

    @routes.get("/accounts/{account_id}", response_class=HTMLResponse)
    def account(request: Request, account_id: str) -> Response:
        viewer = console.viewer(request)
        try:
            found = queries.get_account(
                app.uow(readonly=True), app.env, actor=viewer.principal, account_id=account_id
            )
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return console.render(request, "error.html", viewer, status, **problem)
        return console.render(
            request, "account.html", viewer, account=found, targets=set(), now=app.env.clock()
        )

    return routes


def _required(comment: str) -> str:
    if not comment.strip():
        raise ValidationFailed("a comment is required", field="comment")
    return comment.strip()


async def posting(console: Console, request: Request) -> Viewer:
    """The viewer of a state-changing form, after the CSRF check."""
    viewer = console.viewer(request)
    console.check_csrf(viewer.csrf, await request.form())
    return viewer


def show_detail(
    console: Console,
    request: Request,
    viewer: Viewer,
    request_id: str,
    *,
    done: str = "",
    error: DomainError | None = None,
) -> Response:
    app = console.app
    try:
        view = console_service.request_view(
            app.uow(readonly=True), app.env, actor=viewer.principal, request_id=request_id
        )
    except DomainError as exc:
        status, context = refusal(exc, viewer.lang)
        return console.render(request, "error.html", viewer, status, **context)
    status, problem = refusal(error, viewer.lang) if error else (200, {})
    return console.render(
        request,
        "request.html",
        viewer,
        status,
        v=view,
        r=view.request,
        done=done,
        stale=isinstance(error, Stale),
        band_of=console_service.band_of,
        rule_message=lambda hit: rule_message(
            app.env.policies, view.request.decision, hit, viewer.lang
        ),
        **problem,
    )


def rule_message(
    policies: Mapping[str, RequestPolicy], decision: Decision, hit: RuleHit, lang: str
) -> str:
    """A fired rule's message in the viewer's language, where the pack that decided gives one
    (the engine's own hits, for missing evidence and for no rule deciding, are in the catalog)."""
    _ = i18n.gettext_for(lang)
    if hit.id == EVIDENCE_MISSING and decision.missing_evidence:
        missing = ", ".join(decision.missing_evidence)
        return _("missing or stale evidence: %(missing)s", missing=missing)
    if hit == DEFAULT_REVIEW:
        return _("no rule decided: fail closed")
    pack = policies.get(decision.policy_version)
    return hit.message if pack is None else pack.message_in(hit, lang)
