"""Every console string has a Simplified Chinese translation; the compiled catalog is current."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from factories import default_policy, every_factor_facts

from thawgate.domain import risk
from thawgate.domain.decision import Decision, RiskFactor, RuleHit
from thawgate.entrypoints.web import i18n
from thawgate.entrypoints.web.pages_review import rule_message
from thawgate.policy.request_policy import DEFAULT_REVIEW

WEB = Path(i18n.__file__).parent
PO = WEB / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def source_strings() -> set[str]:
    found = extract_from_dir(str(WEB), METHODS, keywords={"_": None})
    return {message for _file, _line, message, _comments, _context in found if message}


def risk_templates() -> set[str]:
    found = extract_from_dir(
        str(Path(risk.__file__).parent),
        [("risk.py", "python")],
        keywords={"N_": None},
    )
    return {message for _file, _line, message, _comments, _context in found if message}


def test_every_source_string_is_translated() -> None:
    catalog = read_po(PO.open("rb"))
    translated = {m.id: m.string for m in catalog if m.id}
    templates = risk_templates()
    assert len(templates) >= len(risk.FACTORS)  # one or two sentences a factor
    strings = source_strings() | templates
    assert len(strings) > 150  # the extraction really read the templates
    missing = sorted(s for s in strings if not translated.get(s))
    assert missing == [], f"run `make i18n` and translate: {missing}"


def test_placeholders_survive_translation() -> None:
    for m in read_po(PO.open("rb")):
        if m.id and "%(" in m.id:
            names = {p.split(")")[0] for p in m.id.split("%(")[1:]}
            for name in names:
                assert f"%({name})s" in m.string, (m.id, m.string)


def test_every_risk_sentence_reads_in_chinese_with_its_numbers() -> None:
    everything = every_factor_facts()
    fired = risk.score(everything, dict.fromkeys(risk.FACTORS, 1)).factors
    assert len(fired) == len(risk.FACTORS)
    chinese = i18n.gettext_for("zh_CN")
    for factor in fired:
        english, translated = factor.sentence(lambda t: t), factor.sentence(chinese)
        assert english == factor.detail
        assert translated != english, factor.name
        for _name, value in factor.args:
            shown = f"{value:.1f}" if isinstance(value, float) else str(value)
            assert shown in english
            assert shown in translated, (factor.name, translated)
    by_name = {f.name: f.sentence(chinese) for f in fired}
    assert by_name["requester_volume"] == "申请人今天提交了 20 个申请\uff0c而平时每天约 1.5 个。"


def test_a_decision_keeps_what_its_sentences_were_written_from() -> None:
    factor = RiskFactor("earlier_thaws", 10, "Thawed 2 times before.", "Thawed {n} times before.",
                        (("n", 2),))  # fmt: skip
    stored = {"outcome": "review", "policy_version": "v1", "risk": {"score": 10, "factors": [
        {"name": "earlier_thaws", "points": 10, "detail": factor.detail,
         "template": factor.template, "args": {"n": 2}}]}}  # fmt: skip
    decision = Decision.from_dict(stored)
    assert decision.risk.factors == (factor,)
    assert Decision.from_dict(decision.as_dict()) == decision  # the round trip keeps them
    chinese = i18n.gettext_for("zh_CN")
    assert decision.risk.factors[0].sentence(chinese) == "此前已解冻 2 次。"
    older = RiskFactor("earlier_thaws", 10, "Thawed 2 times before.")  # stored before templates
    assert older.sentence(chinese) == "Thawed 2 times before."
    broken = RiskFactor("earlier_thaws", 10, "Thawed 2 times before.", "Thawed {m} times.")
    assert broken.sentence(chinese) == "Thawed 2 times before."  # never a crash


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


def test_fired_rules_read_in_the_viewers_language() -> None:
    pack = default_policy()
    policies = {pack.version: pack}
    ato = RuleHit("ato-thaw", "require", "a takeover freeze needs a fresh liveness check and a "
                  "fraud reviewer")  # fmt: skip
    missing = RuleHit("evidence-missing", "reject", "missing or stale evidence: KYC_LIVENESS_PASS")
    decided = Decision.from_dict(
        {"outcome": "reject", "policy_version": pack.version,
         "missing_evidence": ["KYC_LIVENESS_PASS"]}
    )  # fmt: skip
    unknown = replace(decided, policy_version="retired+000000000000")

    def shown(hit: RuleHit, lang: str, decision: Decision = decided) -> str:
        return rule_message(policies, decision, hit, lang)

    assert shown(ato, "zh_CN") == "盗号冻结需要新近的活体检测和一名反欺诈审核人"
    assert shown(ato, "en") == ato.message
    assert shown(ato, "zh_CN", unknown) == ato.message  # a pack this process does not hold
    assert shown(missing, "zh_CN") == "缺少证据或证据已过期\uff1aKYC_LIVENESS_PASS"
    assert (
        shown(DEFAULT_REVIEW, "zh_CN") == "没有规则作出判定\uff1a按失败即关闭处理\uff0c需人工审核"
    )
    assert shown(DEFAULT_REVIEW, "en") == "no rule decided: fail closed"
