"""Break-glass (use on a request, the after-the-fact review) and access reviews."""
# No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from thawgate.domain.errors import DomainError
from thawgate.entrypoints.web.context import Console, redirect
from thawgate.entrypoints.web.pages_review import posting, show_detail
from thawgate.entrypoints.web.refusals import refusal
from thawgate.services import access_review, break_glass

Text = Annotated[str, Form(max_length=4000)]


def router(console: Console) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    app = console.app

    @routes.post("/requests/{request_id}/break-glass")
    async def use(
        request: Request, request_id: str, justification: Text = "", state_digest: Text = ""
    ) -> Response:
        viewer = await posting(console, request)
        try:
            break_glass.break_glass(
                app.uow(),
                app.env,
                actor=viewer.principal,
                request_id=request_id,
                justification=justification,
                state_digest=state_digest or None,
            )
        except DomainError as exc:
            return show_detail(console, request, viewer, request_id, error=exc)
        return redirect(f"/requests/{request_id}?done=break-glass")

    @routes.post("/break-glass/{break_glass_id}/review")
    async def review(
        request: Request, break_glass_id: str, verdict: Text = "", comment: Text = ""
    ) -> Response:
        viewer = await posting(console, request)
        try:
            break_glass.review_use(
                app.uow(),
                app.env,
                actor=viewer.principal,
                break_glass_id=break_glass_id,
                verdict=verdict,
                comment=comment,
            )
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return console.render(request, "error.html", viewer, status, **problem)
        return redirect("/dashboard?done=reviewed")

    @routes.get("/access", response_class=HTMLResponse)
    def access(request: Request, done: str = "") -> Response:
        viewer = console.viewer(request)
        try:
            groups = access_review.list_for_review(
                app.uow(readonly=True),
                app.env,
                actor=viewer.principal,
                period=timedelta(days=app.settings.access_review_days),
            )
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return console.render(request, "error.html", viewer, status, **problem)
        return console.render(
            request,
            "access.html",
            viewer,
            groups=groups,
            overdue=len(access_review.overdue(groups)),
            done=done,
            now=app.env.clock(),
        )

    @routes.post("/access/{grant_id}/{verdict}")
    async def verdict(
        request: Request, grant_id: str, verdict: str, comment: Text = ""
    ) -> Response:
        viewer = await posting(console, request)
        step = {"confirm": access_review.confirm, "revoke": access_review.revoke}.get(verdict)
        if step is None:
            return redirect("/access")
        try:
            step(app.uow(), app.env, actor=viewer.principal, grant_id=grant_id, comment=comment)
        except DomainError as exc:
            status, problem = refusal(exc, viewer.lang)
            return console.render(request, "error.html", viewer, status, **problem)
        return redirect(f"/access?done={verdict}")

    return routes
