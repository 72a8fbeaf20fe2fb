"""The bytes of an audit event that the log hashes: RFC 8785 (JCS) canonical JSON of
`{seq, at, actor, action, subject, data}`.

`at` is written one way only: UTC, microseconds, `Z` (`2026-11-25T09:42:49.263027Z`).

`data` holds JSON objects, arrays, strings, integers within +/-(2**53 - 1), booleans and null. No
floats: an amount is a string or an integer. `normalized_data` refuses anything else before it is
stored, so what the database gives back is what was hashed.

`rfc8785` costs about 30 us an event. The fast path here, `json.dumps` with sorted keys and no
spaces, writes the same bytes for these values, except that JCS orders keys by UTF-16 code units
and Python by code points: the two differ only for characters beyond U+FFFF, and text holding any
of those takes `rfc8785` itself. tests/unit/test_audit_event.py proves the two byte-identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeAlias

import rfc8785

from thawgate.domain.merkle import leaf_hash

JsonValue: TypeAlias = (
    bool | int | str | list["JsonValue"] | tuple["JsonValue", ...] | dict[str, "JsonValue"] | None
)
MAX_SAFE_INTEGER = 2**53 - 1

_encode_string = json.encoder.encode_basestring  # escapes exactly what JCS escapes
_fast_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")


class UnhashableEvent(ValueError):
    """An audit event that cannot be hashed reproducibly (a float, a huge integer, ...)."""


def canonical_at(at: datetime) -> str:
    """`2026-11-25T09:42:49.263027Z`: always UTC, always six fractional digits."""
    if at.tzinfo is None:
        raise UnhashableEvent("an audit event's time must be timezone-aware")
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical_json(value: JsonValue | Mapping[str, JsonValue]) -> str:
    """JCS text of an already normalized value."""
    text = _fast_dumps(value)
    if not text.isascii() and _BEYOND_BMP.search(text):
        return rfc8785.dumps(value).decode("utf-8")
    return text


def canonical_event(seq: int, at: str, actor: str, action: str, subject: str, data: str) -> bytes:
    """The JCS bytes of the event, from its canonical `at` and the JCS text of its `data`.

    The keys are ASCII, so their JCS order is fixed: action, actor, at, data, seq, subject.
    """
    return (
        f'{{"action":{_encode_string(action)},"actor":{_encode_string(actor)},"at":"{at}",'
        f'"data":{data},"seq":{seq},"subject":{_encode_string(subject)}}}'
    ).encode()


def event_leaf_hash(seq: int, at: str, actor: str, action: str, subject: str, data: str) -> bytes:
    return leaf_hash(canonical_event(seq, at, actor, action, subject, data))


def event_json(
    seq: int, at: str, actor: str, action: str, subject: str, data: Mapping[str, JsonValue]
) -> bytes:
    """The reference: rfc8785 over the whole event. Slow; for tests and auditors' tools."""
    event: dict[str, JsonValue | Mapping[str, JsonValue]] = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "data": data,
    }
    return rfc8785.dumps(event)


def normalized_data(data: Mapping[str, object]) -> dict[str, JsonValue]:
    """A copy of `data` holding only values that hash reproducibly; raises UnhashableEvent."""
    if not isinstance(data, Mapping):
        raise UnhashableEvent("an audit event's data is a JSON object")
    out = _normalized(data, "data")
    if not isinstance(out, dict):  # pragma: no cover  # a Mapping always normalizes to a dict
        raise UnhashableEvent("an audit event's data is a JSON object")
    return out


def check_text(value: str, where: str) -> str:
    """Text both databases store unchanged: valid Unicode, and no NUL (PostgreSQL refuses it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnhashableEvent(f"{where}: not valid Unicode (a lone surrogate)") from None
    if "\x00" in value:
        raise UnhashableEvent(f"{where}: contains NUL, which PostgreSQL cannot store")
    return value


def _normalized(value: object, where: str) -> JsonValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise UnhashableEvent(f"{where}: {value} is beyond +/-(2**53 - 1); use a string")
        return int(value)
    if isinstance(value, str):
        return check_text(str(value), where)
    if isinstance(value, float):
        raise UnhashableEvent(f"{where}: floats are not hashed reproducibly; use a string")
    if isinstance(value, list | tuple):
        return [_normalized(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise UnhashableEvent(f"{where}: key {key!r} is not a string")
            out[check_text(key, where)] = _normalized(v, f"{where}.{key}")
        return out
    raise UnhashableEvent(f"{where}: {type(value).__name__} is not JSON; write it as a string")
