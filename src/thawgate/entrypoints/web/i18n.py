"""The console's languages: English (the source strings) and Simplified Chinese (Babel catalog).

A visible switch sets the `tg_lang` cookie, which persists; without it, the browser's
Accept-Language decides. Dates follow the locale; times are always shown in UTC, and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.support import NullTranslations, Translations

LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT = "en"
COOKIE = "tg_lang"
CATALOGS = Path(__file__).parent / "translations"

Gettext = Callable[..., str]


@cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT:
        return NullTranslations()
    return Translations.load(str(CATALOGS), [lang], domain="messages")


def choose(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_").lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def gettext_for(lang: str) -> Gettext:
    """`_("text %(n)s", n=3)`: the translated text, formatted with the keyword arguments."""
    catalog = translations(lang)

    def _(message: str, **values: object) -> str:
        text = catalog.gettext(message)
        return text % values if values else text

    return _


def babel_locale(lang: str) -> Locale:
    return Locale.parse(lang)


def format_utc(value: datetime | None, lang: str) -> str:
    """A date in the locale's own form and the time in UTC, labelled so."""
    if value is None:
        return "—"
    at = value.astimezone(UTC)
    return f"{format_datetime(at, 'medium', tzinfo=UTC, locale=babel_locale(lang))} UTC"


def format_day(value: datetime, lang: str) -> str:
    return format_date(value.astimezone(UTC), "medium", locale=babel_locale(lang))


def format_age(seconds: float, lang: str) -> str:
    """A short age: 42 min, 5 h, 3 d (in the chosen language)."""
    _ = gettext_for(lang)
    minutes = int(seconds // 60)
    if minutes < 60:
        return _("%(n)s min", n=max(minutes, 0))
    if minutes < 48 * 60:
        return _("%(n)s h", n=minutes // 60)
    return _("%(n)s d", n=minutes // (24 * 60))
