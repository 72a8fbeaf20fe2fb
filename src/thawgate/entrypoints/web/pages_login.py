"""Login, logout and the language switch."""
# No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.

import re
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from thawgate.domain.errors import TooManyAttempts, Unauthenticated
from thawgate.entrypoints.web import i18n
from thawgate.entrypoints.web.context import (
    LOGIN_CSRF_COOKIE,
    Console,
    LoginRequired,
    redirect,
    safe_next,
)
from thawgate.services import console_session

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def router(console: Console) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    app = console.app

    def login_page(
        request: Request, *, error: str | None, status_code: int, next_url: str, notice: str = ""
    ) -> HTMLResponse:
        token = console.login_csrf(request)
        response = console.render(
            request,
            "login.html",
            None,
            status_code=status_code,
            error=error,
            notice=notice,
            next_url=next_url,
            login_csrf=token,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/login",
        )
        return response

    @routes.get("/login")
    def show_login(request: Request, next: str = "/", why: str = "") -> Response:
        _ = i18n.gettext_for(console.lang(request))
        notice = {
            "idle": _("Your session ended after a period without use. Please log in again."),
            "expired": _("Your session has ended. Please log in again."),
            "out": _("You are logged out."),
        }.get(why, "")
        return login_page(
            request, error=None, status_code=200, next_url=safe_next(next), notice=notice
        )

    @routes.post("/login")
    def do_login(
        request: Request,
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        _ = i18n.gettext_for(console.lang(request))
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(expected, csrf_token):
            return login_page(
                request,
                error=_("The form expired. Please try again."),
                status_code=403,
                next_url=safe_next(next),
            )
        username = username.strip()
        if not USERNAME.match(username) or not password:
            return login_page(
                request,
                error=_("Unknown username or wrong password."),
                status_code=401,
                next_url=safe_next(next),
            )
        try:
            _principal, token = console_session.login(
                app.uow(),
                app.env,
                username=username,
                password=password,
                client=request.client.host if request.client else "unknown",
                ttl=timedelta(hours=app.settings.token_ttl_hours),
            )
        except TooManyAttempts:
            return login_page(
                request,
                error=_("Too many failed logins. Wait 15 minutes, or ask an access admin."),
                status_code=429,
                next_url=safe_next(next),
            )
        except Unauthenticated:
            return login_page(
                request,
                error=_("Unknown username or wrong password."),
                status_code=401,
                next_url=safe_next(next),
            )
        response = redirect(safe_next(next))
        console.start_session(response, request, token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @routes.post("/logout")
    async def do_logout(request: Request) -> Response:
        try:
            viewer = console.viewer(request)
        except LoginRequired:
            return redirect("/login")
        console.check_csrf(viewer.csrf, await request.form())
        console_session.logout(app.uow(), app.env, principal=viewer.principal, token=viewer.token)
        response = redirect("/login?why=out")
        console.end_session(response)
        return response

    @routes.get("/lang/{code}")
    def switch_language(code: str, next: str = "/") -> Response:
        response = redirect(safe_next(next))
        if code in i18n.LANGUAGES:
            response.set_cookie(
                i18n.COOKIE, code, max_age=LANG_COOKIE_SECONDS, samesite="lax", path="/"
            )
        return response

    return routes
