"""Every console string has a Simplified Chinese translation; the compiled catalog is current."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from thawgate.entrypoints.web import i18n

WEB = Path(i18n.__file__).parent
PO = WEB / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def source_strings() -> set[str]:
    found = extract_from_dir(str(WEB), METHODS, keywords={"_": None})
    return {message for _file, _line, message, _comments, _context in found if message}


def test_every_source_string_is_translated() -> None:
    catalog = read_po(PO.open("rb"))
    translated = {m.id: m.string for m in catalog if m.id}
    strings = source_strings()
    assert len(strings) > 150  # the extraction really read the templates
    missing = sorted(s for s in strings if not translated.get(s))
    assert missing == [], f"run `make i18n` and translate: {missing}"


def test_placeholders_survive_translation() -> None:
    for m in read_po(PO.open("rb")):
        if m.id and "%(" in m.id:
            names = {p.split(")")[0] for p in m.id.split("%(")[1:]}
            for name in names:
                assert f"%({name})s" in m.string, (m.id, m.string)


def test_the_compiled_catalog_matches_the_po_file() -> None:
    po = {m.id: m.string for m in read_po(PO.open("rb")) if m.id}
    mo = {m.id: m.string for m in read_mo(io.BytesIO(MO.read_bytes())) if m.id}
    assert mo == po, "run `make i18n` to compile the catalog"


def test_language_choice() -> None:
    assert i18n.choose("zh_CN", "en-US") == "zh_CN"  # the switch wins
    assert i18n.choose(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert i18n.choose("fr", "en-GB") == "en"
    assert i18n.choose(None, None) == "en"
    _ = i18n.gettext_for("zh_CN")
    assert _("Review queue") == "审核队列"
    assert _("Page %(page)s of %(pages)s", page=2, pages=5) == "第 2 页\uff0c共 5 页"


def test_times_are_utc_and_dates_follow_the_locale() -> None:
    from datetime import datetime, timedelta, timezone

    at = datetime(2026, 11, 25, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert i18n.format_utc(at, "en") == "Nov 26, 2026, 4:30:00\u202fAM UTC"
    assert i18n.format_utc(at, "zh_CN") == "2026年11月26日 04:30:00 UTC"
