"""A refused action, in words: the console's one table from domain errors to what it shows."""

from __future__ import annotations

from thawgate.domain import errors
from thawgate.entrypoints.web import i18n


def refusal(exc: errors.DomainError, lang: str) -> tuple[int, dict[str, object]]:
    """(HTTP status, template context) for a refused action or read."""
    _ = i18n.gettext_for(lang)
    table: list[tuple[type[errors.DomainError], int, str, str]] = [
        (
            errors.SeparationOfDuties,
            403,
            "separation-of-duties",
            _("Refused: separation of duties"),
        ),
        (errors.Forbidden, 403, "forbidden", _("Refused: your roles do not allow this")),
        (errors.Stale, 409, "stale", _("The request changed since you looked at it")),
        (errors.Conflict, 409, "conflict", _("Not possible in the request's current state")),
        (errors.NotFound, 404, "not-found", _("Not found")),
        (errors.ValidationFailed, 422, "validation", _("Please correct the form")),
        (errors.TooManyAttempts, 429, "too-many-attempts", _("Too many attempts")),
    ]
    for cls, status, kind, title in table:
        if isinstance(exc, cls):
            extra: dict[str, object] = {}
            if isinstance(exc, errors.SeparationOfDuties):
                extra["error_floor_item"] = exc.floor_item
            return status, {
                "error_kind": kind,
                "error_title": title,
                "error_detail": exc.detail,
                **extra,
            }
    return 500, {"error_kind": "internal", "error_title": _("Error"), "error_detail": exc.detail}
