"""What every console page shares: the signed session cookie, CSRF, the language, rendering.

The session cookie is signed (itsdangerous) and carries the session's bearer token, its CSRF
token and when it was last used; it is HttpOnly, SameSite=Strict, and Secure when the console is
served over TLS. A session ends after `console_idle_minutes` without use, when its token expires,
and at logout (which deletes the token). Every state-changing form carries the CSRF token, and
the server compares it with the session's in constant time before doing anything.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer

from thawgate.bootstrap import App
from thawgate.domain.errors import Unauthenticated, ValidationFailed
from thawgate.domain.model import Principal, Restriction
from thawgate.domain.need_to_know import ShownReason, shown_reason
from thawgate.entrypoints.web import i18n
from thawgate.services import identity

SESSION_COOKIE = "tg_session"
LOGIN_CSRF_COOKIE = "tg_login_csrf"
CSRF_FIELD = "csrf_token"
TEMPLATES = Path(__file__).parent / "templates"
REVIEWER_ROLES = frozenset(
    {"fraud_reviewer", "senior_fraud_reviewer", "legal_reviewer", "compliance_reviewer"}
)
AUDIT_ROLES = REVIEWER_ROLES | {"auditor"}


# Every console page: scripts only from the console itself (no inline script), never framed (a
# framed Approve button could be clickjacked), forms post only here, and nothing cached.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No live session: the handler sends the browser to /login, then back here."""

    def __init__(self, next_url: str, reason: str | None = None) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.reason = reason


class CsrfRefused(Exception):
    """A state-changing form without the session's CSRF token."""


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: Principal
    token: str
    csrf: str
    lang: str

    @property
    def is_reviewer(self) -> bool:
        return bool(self.principal.roles & REVIEWER_ROLES)

    @property
    def reads_audit(self) -> bool:
        return bool(self.principal.roles & AUDIT_ROLES)

    @property
    def is_senior(self) -> bool:
        return "senior_fraud_reviewer" in self.principal.roles

    @property
    def reviews_access(self) -> bool:
        return bool(self.principal.roles & {"access_admin", "auditor"})

    @property
    def requests(self) -> bool:
        return bool(self.principal.roles & {"requester", "self_service"})


class Console:
    """The console's state: templates, the cookie signer, and the settings it reads."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.signer = URLSafeSerializer(app.settings.secret_key, salt="thawgate-console-session")
        self.idle_seconds = app.settings.console_idle_minutes * 60
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.templates.env.globals["LANGUAGES"] = i18n.LANGUAGES

    # ------------------------------------------------------------------ language

    def lang(self, request: Request) -> str:
        return i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))

    # ------------------------------------------------------------------ session

    def viewer(self, request: Request) -> Viewer:
        """The logged-in viewer, or LoginRequired. Roles are read afresh on every call, so a
        revocation or suspension takes effect on the very next page."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            raise LoginRequired(here)
        try:
            data = self.signer.loads(raw)
            token, csrf, seen = str(data["t"]), str(data["c"]), float(data["s"])
        except (BadSignature, KeyError, TypeError, ValueError):
            raise LoginRequired(here) from None
        if time.time() - seen > self.idle_seconds:
            raise LoginRequired(here, "idle")
        try:
            principal = identity.authenticate(self.app.uow(readonly=True), self.app.env, token)
        except Unauthenticated:
            raise LoginRequired(here, "expired") from None
        return Viewer(principal, token, csrf, self.lang(request))

    def start_session(self, response: Response, request: Request, token: str) -> None:
        self._set_session(response, request, token, secrets.token_urlsafe(32))

    def _set_session(self, response: Response, request: Request, token: str, csrf: str) -> None:
        value = self.signer.dumps({"t": token, "c": csrf, "s": time.time()})
        response.set_cookie(
            SESSION_COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )

    def end_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    # ------------------------------------------------------------------ CSRF

    @staticmethod
    def check_csrf(expected: str, form: Any) -> None:
        sent = form.get(CSRF_FIELD) if form is not None else None
        if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
            raise CsrfRefused

    def login_csrf(self, request: Request) -> str:
        return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)

    # ------------------------------------------------------------------ rendering

    def render(
        self,
        request: Request,
        template: str,
        viewer: Viewer | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        lang = viewer.lang if viewer else self.lang(request)
        _ = i18n.gettext_for(lang)
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "viewer": viewer,
                "lang": lang,
                "_": _,
                "when": lambda at: i18n.format_utc(at, lang),
                "age": lambda seconds: i18n.format_age(seconds, lang),
                "csrf": viewer.csrf if viewer else "",
                "shown": lambda r: _shown(viewer, r),
                "here": quote(request.url.path + _query(request), safe="/?=&"),
                **context,
            },
            status_code=status_code,
        )
        response.headers.update(SECURITY_HEADERS)
        if viewer is not None:  # every page view counts as use: the idle clock restarts
            self._set_session(response, request, viewer.token, viewer.csrf)
        return response


def _shown(viewer: Viewer | None, r: Restriction) -> ShownReason:
    """Need to know: what this viewer may see of a restriction's reason and note."""
    if viewer is None:
        raise LoginRequired("/")
    return shown_reason(viewer.principal, reason=r.reason, note=r.note)


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


def safe_next(value: str | None) -> str:
    """Only a path on this console: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def observed_time(value: str, label: str) -> datetime:
    """A form's `datetime-local` observation time, read as UTC; bad input names `label`."""
    if not value.strip():
        raise ValidationFailed(f"{label}: when was it observed?", field="evidence")
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(f"{label}: not a time", field="evidence") from None


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
