"""The REST API (API.md). Routes parse input, call one service, and return its result."""
# No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Query
from fastapi.responses import JSONResponse

from thawgate.adapters.db.engine import database_answers
from thawgate.bootstrap import App
from thawgate.domain.errors import ValidationFailed
from thawgate.domain.model import Principal, storable_time
from thawgate.domain.need_to_know import redact_request
from thawgate.domain.request import STATUSES, Request
from thawgate.entrypoints import web
from thawgate.entrypoints.api import audit_routes, authority_routes, monitoring_routes, problems
from thawgate.entrypoints.api.auth import principal_dependency
from thawgate.entrypoints.api.schemas import (
    AnswerIn,
    ApprovalIn,
    CommentIn,
    EventIn,
    RequestIn,
    RestrictionIn,
    RestrictionPatch,
    account_json,
    request_json,
    restriction_json,
)
from thawgate.services import corrections, intake, queries, redaction, restrictions, review
from thawgate.services.intake import NewRequest

JSON = dict[str, object]


def create_app(app: App) -> FastAPI:
    api = FastAPI(
        title="Thawgate",
        version="1",
        description="The one gate for every thaw and unbind. Errors are RFC 9457 problem+json.",
    )
    problems.install(api)
    api.include_router(_router(app), prefix="/v1")
    api.include_router(audit_routes.router(app), prefix="/v1")
    api.include_router(authority_routes.router(app), prefix="/v1")
    api.include_router(monitoring_routes.router(app), prefix="/v1")
    web.mount(api, app)  # the console, at / (docs/console.md)

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> JSON:
        """The process is up (liveness): no database involved."""
        return {"status": "ok"}

    @api.get("/readyz", include_in_schema=False)
    def readyz() -> JSON:
        """Ready to serve (a load balancer's check): the database answers. When it does not,
        the 503 `unavailable` problem, as any request would get."""
        database_answers(app.engine)
        return {"status": "ready"}

    return api


def _router(app: App) -> APIRouter:  # one closure per route, by design
    router = APIRouter()
    env = app.env

    Actor = Annotated[Principal, Depends(principal_dependency(app))]

    def shown(viewer: Principal, r: Request) -> JSON:
        """The request as this viewer may see it (need to know, docs/authority.md)."""
        hide = redaction.owners_to_hide(app.uow(readonly=True), viewer, [r])
        return redact_request(viewer, request_json(r), hide.get(r.id, []))

    @router.get("/accounts/{account_id}")
    def get_account(account_id: str, actor: Actor) -> JSON:
        return account_json(
            queries.get_account(app.uow(readonly=True), env, actor=actor, account_id=account_id),
            actor,
        )

    @router.post("/accounts/{account_id}/restrictions", status_code=201)
    def place_restriction(account_id: str, body: RestrictionIn, actor: Actor) -> JSON:
        r = restrictions.place(
            app.uow(),
            env,
            actor=actor,
            account_id=account_id,
            scope=body.scope.value,
            reason=body.reason.value,
            note=body.note,
            expires_at=body.expires_at,
        )
        return restriction_json(r, actor)

    @router.patch("/accounts/{account_id}/restrictions/{restriction_id}")
    def amend_restriction(
        account_id: str, restriction_id: str, body: RestrictionPatch, actor: Actor
    ) -> JSON:
        r = restrictions.amend(
            app.uow(),
            env,
            actor=actor,
            account_id=account_id,
            restriction_id=restriction_id,
            reason=body.reason.value if body.reason else None,
            scope=body.scope.value if body.scope else None,
            note=body.note,
        )
        return restriction_json(r, actor)

    @router.post("/accounts/{account_id}/events", status_code=202)
    def ingest(account_id: str, body: list[EventIn], actor: Actor) -> JSON:
        n = restrictions.ingest_events(
            app.uow(), env, actor=actor, account_id=account_id, events=[e.to_domain() for e in body]
        )
        return {"accepted": n}

    @router.post("/requests", status_code=201)
    def submit(
        body: RequestIn,
        actor: Actor,
        idempotency_key: Annotated[str | None, Header(max_length=256)] = None,
    ) -> JSON:
        new = NewRequest(
            kind=body.kind,
            account_id=body.account_id,
            targets=list(body.targets),
            justification=body.justification,
            evidence=[e.to_domain() for e in body.evidence],
            ticket=body.ticket,
            duration_hours=body.duration_hours,
        )
        r = intake.submit(app.uow(), env, actor=actor, body=new, idempotency_key=idempotency_key)
        return shown(actor, r)

    @router.get("/requests/{request_id}")
    def get_request(request_id: str, actor: Actor) -> JSON:
        return shown(
            actor,
            queries.get_request(app.uow(readonly=True), env, actor=actor, request_id=request_id),
        )

    @router.get("/requests")
    def list_requests(
        actor: Actor,
        status: str | None = None,
        account_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=queries.LIST_MAX)] = 50,
        cursor: str | None = None,
    ) -> JSON:
        if status is not None and status not in STATUSES:  # a typo is not an empty queue
            raise ValidationFailed(
                f"status: {status!r} is not one of {', '.join(sorted(STATUSES))}", field="status"
            )
        items = queries.list_requests(
            app.uow(readonly=True),
            env,
            actor=actor,
            status=status,
            account_id=account_id,
            limit=limit + 1,
            after=_decode_cursor(cursor),
        )
        page, more = items[:limit], len(items) > limit
        next_cursor = _encode_cursor(page[-1].created_at.isoformat(), page[-1].id) if more else None
        hide = redaction.owners_to_hide(app.uow(readonly=True), actor, page)
        shown_items = [redact_request(actor, request_json(r), hide.get(r.id, [])) for r in page]
        return {"items": shown_items, "next_cursor": next_cursor}

    @router.post("/requests/{request_id}/approvals", status_code=201)
    def approve(request_id: str, body: ApprovalIn, actor: Actor) -> JSON:
        return shown(
            actor,
            review.approve(
                app.uow(),
                env,
                actor=actor,
                request_id=request_id,
                comment=body.comment,
                state_digest=body.state_digest,
            ),
        )

    @router.post("/requests/{request_id}/rejections")
    def reject(request_id: str, body: CommentIn, actor: Actor) -> JSON:
        return shown(
            actor,
            review.reject(app.uow(), env, actor=actor, request_id=request_id, comment=body.comment),
        )

    @router.post("/requests/{request_id}/questions")
    def question(request_id: str, body: CommentIn, actor: Actor) -> JSON:
        return shown(
            actor,
            review.question(
                app.uow(), env, actor=actor, request_id=request_id, comment=body.comment
            ),
        )

    @router.post("/requests/{request_id}/answers")
    def answer(request_id: str, body: AnswerIn, actor: Actor) -> JSON:
        return shown(
            actor,
            review.answer(
                app.uow(),
                env,
                actor=actor,
                request_id=request_id,
                comment=body.comment,
                evidence=[e.to_domain() for e in body.evidence],
            ),
        )

    @router.post("/requests/{request_id}/withdrawal")
    def withdraw(request_id: str, actor: Actor) -> JSON:
        return shown(actor, review.withdraw(app.uow(), env, actor=actor, request_id=request_id))

    @router.post("/requests/{request_id}/revert")
    def revert(request_id: str, body: CommentIn, actor: Actor) -> JSON:
        return shown(
            actor,
            corrections.revert(
                app.uow(), env, actor=actor, request_id=request_id, comment=body.comment
            ),
        )

    @router.post("/requests/{request_id}/retry")
    def retry(request_id: str, body: CommentIn, actor: Actor) -> JSON:
        return shown(
            actor,
            corrections.retry_failed(
                app.uow(), env, actor=actor, request_id=request_id, comment=body.comment
            ),
        )

    @router.get("/policy")
    def policy(actor: Actor) -> JSON:
        del actor  # any authenticated principal may read the active policy
        pack = env.policy
        return {
            "version": pack.version,
            "sha256": pack.sha256,
            "document": pack.document,
            "rules": [{"id": r.id, "effect": r.effect, "message": r.message} for r in pack.rules],
        }

    return router


def _encode_cursor(at: str, rid: str) -> str:
    return base64.urlsafe_b64encode(f"{at}|{rid}".encode()).decode()


def _decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    if not cursor:
        return None
    try:
        at, rid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        storable_time(datetime.fromisoformat(at))  # the API writes `created_at` with a zone
    except ValueError:  # also bad base64, bad UTF-8, no `|`, or not a time
        raise ValidationFailed("cursor: not a cursor this API issued", field="cursor") from None
    return at, rid


__all__ = ["JSONResponse", "create_app"]
