"""The evaluation report: per-scenario stops, benign friction, score distributions (Markdown
and PNG charts)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from thawgate.services.risk_evaluation.aftermath import MonitoringSummary
from thawgate.services.risk_evaluation.judge import Verdict
from thawgate.services.risk_evaluation.learned import THRESHOLD, Comparison
from thawgate.synth.world import BENIGN, SCENARIOS

ATTACK_TARGET = 0.95
FRICTION_TARGET = 0.10


@dataclass(frozen=True, slots=True)
class Summary:
    seed: int
    accounts: int
    policy_version: str
    per_label: dict[str, Counter[str]]
    attack_stopped: float
    benign_escalated: float
    monitoring: MonitoringSummary | None = None  # what post-thaw monitoring caught (modelled)
    learned: Comparison | None = None  # the learned model beside the scorecard

    @property
    def meets_targets(self) -> bool:
        return self.attack_stopped >= ATTACK_TARGET and self.benign_escalated <= FRICTION_TARGET


def summarise(verdicts: list[Verdict], *, seed: int, accounts: int, version: str) -> Summary:
    per: dict[str, Counter[str]] = {label: Counter() for label in (BENIGN, *SCENARIOS)}
    for v in verdicts:
        per[v.request.label][v.verdict] += 1
    attacks = [v for v in verdicts if v.request.label != BENIGN]
    benign = [v for v in verdicts if v.request.label == BENIGN]
    return Summary(
        seed=seed,
        accounts=accounts,
        policy_version=version,
        per_label=per,
        attack_stopped=_share(sum(v.stopped for v in attacks), len(attacks)),
        benign_escalated=_share(sum(v.verdict == "escalated" for v in benign), len(benign)),
    )


def _share(n: int, total: int) -> float:
    return n / total if total else 0.0


def write_report(summary: Summary, verdicts: list[Verdict], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    charts = _charts(verdicts, out)
    path = out / "risk-evaluation.md"
    path.write_text(_markdown(summary, verdicts, charts), encoding="utf-8")
    return path


def _markdown(s: Summary, verdicts: list[Verdict], charts: list[str]) -> str:
    lines = [
        f"# Risk evaluation: seed {s.seed}, {s.accounts} accounts",
        "",
        f"Policy `{s.policy_version}`, judged in process (Cedar authorization and the request",
        "policy), at intake and again as the reviewer's approval arrives.",
        "",
        "| | requests | refused (403) | rejected | escalated | passed | stopped |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, c in s.per_label.items():
        n = sum(c.values())
        lines.append(
            f"| {label} | {n} | {c['refused']} | {c['rejected']} | {c['escalated']} "
            f"| {c['passed']} | {_pct(_share(n - c['passed'], n))} |"
        )
    lines += [
        "",
        f"- **Attack requests stopped:** {_pct(s.attack_stopped)} "
        f"(target ≥ {_pct(ATTACK_TARGET)}): {_met(s.attack_stopped >= ATTACK_TARGET)}",
        f"- **Benign requests escalated (friction):** {_pct(s.benign_escalated)} "
        f"(target ≤ {_pct(FRICTION_TARGET)}): {_met(s.benign_escalated <= FRICTION_TARGET)}",
        "",
        "## Factors that fired",
        "",
        "| factor | benign | attack |",
        "|---|---:|---:|",
        *_factor_rows(verdicts),
        "",
        *[f"![{c}]({c})" for c in charts],
        "",
        *(_learned_lines(s.learned) if s.learned is not None else []),
        *(_monitoring_lines(s.monitoring) if s.monitoring is not None else []),
    ]
    return "\n".join(lines)


def _learned_lines(c: Comparison) -> list[str]:
    seeds = ", ".join(str(s) for s in c.trained_on)
    return [
        "## The learned model beside the scorecard",
        "",
        "Gradient boosting (scikit-learn) on the scorecard's facts, trained on the labelled",
        f"streams of tuning seeds {seeds} ({c.samples} requests). It may only add risk: a request",
        "the scorecard let pass is escalated when the model's attack probability is at least",
        f"{THRESHOLD}; nothing the scorecard stopped is let through.",
        "",
        "| | scorecard | scorecard + model |",
        "|---|---:|---:|",
        f"| attack requests stopped | {_pct(c.attack_stopped[0])} | {_pct(c.attack_stopped[1])} |",
        f"| benign escalated | {_pct(c.benign_escalated[0])} | {_pct(c.benign_escalated[1])} |",
        *[
            f"| stopped: {label} | {_pct(c.scorecard[label])} | {_pct(c.combined[label])} |"
            for label in c.scorecard
        ],
        "",
    ]


def _monitoring_lines(m: MonitoringSummary) -> list[str]:
    return [
        "## Post-thaw monitoring (modelled aftermath)",
        "",
        "Each request that passed review is executed as its approval arrives and followed by a",
        "*modelled* 72 h of account activity (`synth/aftermath.py`: attackers mostly cash",
        "out fast, some are patient; owners mostly stay quiet, a few add an address, travel or",
        "change a password). The pack's monitoring rules judge it as the live service does.",
        "The behaviour mix is our assumption, so these shares measure the rules against that",
        "model only.",
        "",
        f"- **Attack requests that passed review, caught by monitoring:** {m.attack_caught} of "
        f"{m.attack_passed} ({_pct(_share(m.attack_caught, m.attack_passed))})",
        f"- **Benign requests that passed, re-frozen by a false alarm:** {m.benign_alarmed} of "
        f"{m.benign_passed} ({_pct(_share(m.benign_alarmed, m.benign_passed))})",
        "",
        "| monitoring rule | hits |",
        "|---|---:|",
        *[f"| {rule} | {n} |" for rule, n in sorted(m.per_rule.items())],
        "",
    ]


def _factor_rows(verdicts: list[Verdict]) -> list[str]:
    benign = [v for v in verdicts if v.request.label == BENIGN]
    attack = [v for v in verdicts if v.request.label != BENIGN]
    fb = Counter(f for v in benign for f in v.factors)
    fa = Counter(f for v in attack for f in v.factors)
    nb, na = len(benign), len(attack)
    return [
        f"| {name} | {_pct(_share(fb[name], nb))} | {_pct(_share(fa[name], na))} |"
        for name in sorted(set(fb) | set(fa))
    ]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _charts(verdicts: list[Verdict], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benign = [v.score for v in verdicts if v.request.label == BENIGN]
    attack = [v.score for v in verdicts if v.request.label != BENIGN]
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = list(range(0, 105, 5))
    ax.hist(benign, bins=bins, alpha=0.6, density=True, label=f"benign ({len(benign)})")
    ax.hist(attack, bins=bins, alpha=0.6, density=True, label=f"attack ({len(attack)})")
    ax.axvline(70, color="black", linestyle="--", linewidth=1, label="high-risk (70)")
    ax.set_xlabel("risk score (highest reached)")
    ax.set_ylabel("share of requests")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "scores.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [BENIGN, *SCENARIOS]
    data = [[v.score for v in verdicts if v.request.label == lab] or [0] for lab in labels]
    ax.boxplot(data)
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("risk score")
    fig.tight_layout()
    fig.savefig(out / "scores-by-scenario.png", dpi=110)
    plt.close(fig)
    return ["scores.png", "scores-by-scenario.png"]
