"""The reviewers' console: server-rendered Jinja2 pages with htmx, served by `thawgate serve`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from thawgate.bootstrap import App
from thawgate.entrypoints.api import problems
from thawgate.entrypoints.web import i18n, pages_authority, pages_login, pages_more, pages_review
from thawgate.entrypoints.web.context import Console, CsrfRefused, LoginRequired, redirect

STATIC = Path(__file__).parent / "static"


def mount(api: FastAPI, app: App) -> Console:
    console = Console(app)
    api.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    api.include_router(pages_login.router(console))
    api.include_router(pages_more.router(console))  # /requests/new before /requests/{id}
    api.include_router(pages_review.router(console))
    api.include_router(pages_authority.router(console))

    def login_required(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)  # noqa: S101  # registered for this type only
        why = f"&why={exc.reason}" if exc.reason else ""
        response = redirect(f"/login?next={quote(exc.next_url, safe='/')}{why}")
        response.delete_cookie("tg_session", path="/")
        return response

    def error_page(request: Request, status: int, kind: str, title: str, detail: str) -> Response:
        response: HTMLResponse = console.render(
            request, "error.html", None, status,
            error_kind=kind, error_title=title, error_detail=detail,
        )  # fmt: skip
        return response

    def csrf_refused(request: Request, _exc: Exception) -> Response:
        _ = i18n.gettext_for(console.lang(request))
        return error_page(
            request,
            403,
            "csrf",
            _("Refused: the form carried no valid CSRF token"),
            _(
                "The form was not sent from this console's page, or your session changed. "
                "Reload the page and try again."
            ),
        )

    def database_down(request: Request, exc: Exception) -> Response:
        """A page in the viewer's language for a browser on the console; the API's 503 problem
        for /v1, /readyz and any client that does not ask for HTML."""
        if (
            request.url.path.startswith("/v1/")
            or "text/html" not in request.headers.get("accept", "")
            or not isinstance(exc, sa.exc.OperationalError)
            or not problems.transient(exc)
        ):
            return problems.database_unavailable(request, exc)  # re-raises what is not its own
        _ = i18n.gettext_for(console.lang(request))
        response = error_page(
            request,
            503,
            "unavailable",
            _("The database did not answer"),
            _("Nothing was changed. Try again in a moment."),
        )
        response.headers["Retry-After"] = str(problems.RETRY_AFTER_S)
        return response

    api.add_exception_handler(LoginRequired, login_required)
    api.add_exception_handler(CsrfRefused, csrf_refused)
    api.add_exception_handler(sa.exc.OperationalError, database_down)  # replaces the API's own
    return console
