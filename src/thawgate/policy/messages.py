"""A rule's message in other languages: `messages: {zh_CN: ...}` beside its English `message`.

The console shows a fired rule in the viewer's language where the pack gives one, and the English
`message` otherwise. Decisions, alerts and the audit log keep the English text.
"""

from __future__ import annotations

import re

from thawgate.domain.errors import PolicyError

_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Z][A-Za-z]{1,3})?")


def parse_messages(raw: object, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: messages must map a locale (e.g. zh_CN) to a text")
    out = {}
    for locale, text in raw.items():
        if not isinstance(locale, str) or not _LOCALE.fullmatch(locale):
            raise PolicyError(f"{where}: messages: {locale!r} is not a locale such as zh_CN")
        if not isinstance(text, str) or not text.strip():
            raise PolicyError(f"{where}: messages.{locale}: expected a non-empty text")
        out[locale] = text.strip()
    return out
