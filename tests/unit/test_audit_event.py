"""The bytes an audit event is hashed from: the fast canonical path is byte-identical to
rfc8785 (JCS) over every event shape Thawgate writes, and what cannot hash reproducibly is
refused before it is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from thawgate.domain import audit_event as ae

# Text as events carry it: any Unicode but lone surrogates and NUL, with the characters where
# a canonicalizer goes wrong drawn often: escapes, controls, U+E000..U+FFFF (which sort after
# surrogate pairs in UTF-16 but before them by code point) and characters beyond U+FFFF.
TRICKY = ["\x01", "\x1f", "\x7f", '"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\u2028",
          "\ue000", "\uffff", "\U0001f600", "\U00010000", "\U0010ffff", "é", "中",
          "a", "z"]  # fmt: skip
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.text(st.sampled_from(TRICKY) | CHARS, max_size=12)
SAFE_INT = st.integers(-ae.MAX_SAFE_INTEGER, ae.MAX_SAFE_INTEGER)
SCALARS = st.none() | st.booleans() | SAFE_INT | TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=20,
)
DATA = st.dictionaries(TEXT, JSON, max_size=8)
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001  # hypothesis takes naive bounds
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001  # and adds the zone itself
    timezones=st.just(UTC),
)


@settings(max_examples=600, deadline=None)
@given(
    seq=st.integers(0, ae.MAX_SAFE_INTEGER),
    at=MOMENTS,
    actor=TEXT,
    action=TEXT,
    subject=TEXT,
    data=DATA,
)
def test_the_fast_path_is_byte_identical_to_rfc8785(
    seq: int, at: datetime, actor: str, action: str, subject: str, data: dict[str, object]
) -> None:
    at_text = ae.canonical_at(at)
    data_text = ae.canonical_json(ae.normalized_data(data))
    fast = ae.canonical_event(seq, at_text, actor, action, subject, data_text)
    reference = rfc8785.dumps(
        {
            "seq": seq,
            "at": at_text,
            "actor": actor,
            "action": action,
            "subject": subject,
            "data": data,
        }
    )
    assert fast == reference
    assert data_text.encode() == rfc8785.dumps(data)


def test_keys_beyond_the_bmp_sort_by_utf16_as_jcs_requires() -> None:
    data: dict[str, object] = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    text = ae.canonical_json(ae.normalized_data(data))
    assert text == '{"a":3,"\U0001f600":2,"\ue000":1}'  # a surrogate pair sorts before U+E000
    assert text.encode() == rfc8785.dumps(data)


def test_the_time_is_utc_with_microseconds_and_z() -> None:
    whole = datetime(2026, 11, 25, 9, 42, 49, tzinfo=UTC)
    assert ae.canonical_at(whole) == "2026-11-25T09:42:49.000000Z"
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 25, 17, 42, 49, 263027, tzinfo=shanghai)
    assert ae.canonical_at(moment) == "2026-11-25T09:42:49.263027Z"
    with pytest.raises(ae.UnhashableEvent, match="timezone"):
        ae.canonical_at(datetime(2026, 11, 25))  # noqa: DTZ001  # the naive time is the point


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"amount": 1.5}, "floats"),
        ({"nested": [{"x": 0.0}]}, "floats"),
        ({"big": 2**53}, "beyond"),
        ({"big": -(2**60)}, "beyond"),
        ({1: "x"}, "not a string"),
        ({"s": "\ud800"}, "surrogate"),
        ({"s": "a\x00b"}, "NUL"),
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, "not JSON"),
        ({"d": Decimal("1.5")}, "not JSON"),
        ({"b": b"bytes"}, "not JSON"),
    ],
)
def test_what_cannot_hash_reproducibly_is_refused(data: dict[object, object], problem: str) -> None:
    with pytest.raises(ae.UnhashableEvent, match=problem):
        ae.normalized_data(data)  # type: ignore[arg-type]


def test_normalizing_keeps_values_and_makes_tuples_lists() -> None:
    data = {"targets": ("r-1", "r-2"), "n": 3, "ok": True, "none": None, "sub": {"k": [1, "2"]}}
    assert ae.normalized_data(data) == {
        "targets": ["r-1", "r-2"],
        "n": 3,
        "ok": True,
        "none": None,
        "sub": {"k": [1, "2"]},
    }
