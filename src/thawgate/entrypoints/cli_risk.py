"""`thawgate synth` and `thawgate risk evaluate`: the synthetic exchange and its measurement."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from thawgate import bootstrap
from thawgate.config import Settings
from thawgate.domain.errors import DomainError
from thawgate.policy.authz import Authorizer
from thawgate.policy.request_policy import RequestPolicy
from thawgate.services import intake, loader, monitoring
from thawgate.services.env import utc_now
from thawgate.services.risk_evaluation import evaluate
from thawgate.synth import generate
from thawgate.synth.export import to_load_file
from thawgate.synth.world import SynthRequest

risk_app = typer.Typer(no_args_is_help=True, help="Measure the risk score and the rules.")
out = Console()


def synth(
    accounts: Annotated[int, typer.Option(help="how many accounts")] = 5000,
    seed: Annotated[int, typer.Option(help="the same seed gives the same world")] = 1,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="write the load file (YAML) here")
    ] = None,
    load: Annotated[bool, typer.Option("--load", help="load it into the database")] = False,
) -> None:
    """Generate a synthetic exchange: write it as a load file, or load it directly."""
    if (out_file is None) == (not load):
        raise typer.BadParameter("give exactly one of --out FILE.yaml or --load")
    world = generate(accounts, seed)
    data = to_load_file(world)
    if out_file is not None:
        out_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        out.print(
            f"wrote {out_file}: {len(world.accounts)} accounts, {len(world.requests)} requests"
        )
        return
    application = bootstrap.build()
    report = loader.load_world(application.uow(), application.env, data)
    out.print(
        f"loaded: {report.principals} principals, {report.accounts} accounts, "
        f"{report.restrictions} restrictions, {report.bindings} bindings, {report.events} events"
    )


@risk_app.command("evaluate")
def risk_evaluate(
    seed: Annotated[
        int, typer.Option(help="an evaluation seed: never one the weights were tuned on")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="report directory")] = Path("risk-report"),
    accounts: Annotated[int, typer.Option(help="accounts in the generated world")] = 5000,
    model: Annotated[
        bool,
        typer.Option(
            "--model/--no-model",
            help="also train the learned model on the tuning seeds and compare it",
        ),
    ] = True,
) -> None:
    """Run the shipped policy over a fresh labelled world; write Markdown and PNG charts."""
    settings = Settings()
    policy = RequestPolicy.load((settings.policy_dir / "request_policy.yaml").read_text())
    authorizer = Authorizer.from_directory(settings.policy_dir)
    summary = evaluate(policy, authorizer, seed=seed, accounts=accounts, out=out_dir, model=model)
    out.print(
        f"seed {seed}: attack requests stopped {summary.attack_stopped:.1%}, "
        f"benign escalated {summary.benign_escalated:.1%} -> {out_dir / 'risk-evaluation.md'}"
    )
    c = summary.learned
    if c is not None:
        out.print(
            f"learned model (may only add): attack requests stopped {c.attack_stopped[1]:.1%}, "
            f"benign escalated {c.benign_escalated[1]:.1%}"
        )
    m = summary.monitoring
    if m is not None:
        out.print(
            f"post-thaw monitoring (modelled aftermath): caught {m.attack_caught} of "
            f"{m.attack_passed} attack requests that passed review; false alarms on "
            f"{m.benign_alarmed} of {m.benign_passed} benign ones"
        )
    if not summary.meets_targets:
        raise typer.Exit(1)


@risk_app.command("bad-thaws")
def bad_thaws(
    since: Annotated[
        str | None,
        typer.Option(help="only hits detected since: a duration back (30d, 12h) or an ISO time"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Bad thaws (post-thaw monitoring hits) per requester, per approver and per rule."""
    err = Console(stderr=True)
    try:
        start = parse_since(since, utc_now())
        counts = monitoring.bad_thaw_counts(bootstrap.build().uow(readonly=True), start)
    except (ValueError, bootstrap.NotInitialised) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2 if isinstance(exc, ValueError) else 7) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "since": None if start is None else start.isoformat(),
                    "bad_thaws": counts.bad_thaws,
                    "per_requester": [
                        {"principal": k, "bad_thaws": n} for k, n in counts.per_requester
                    ],
                    "per_approver": [
                        {"principal": k, "bad_thaws": n} for k, n in counts.per_approver
                    ],
                    "per_rule": [{"rule": k, "hits": n} for k, n in counts.per_rule],
                }
            )
        )
        return
    when = "ever" if start is None else f"since {start.isoformat()}"
    out.print(f"bad thaws {when}: {counts.bad_thaws}", highlight=False)
    for title, rows in (
        ("per requester", counts.per_requester),
        ("per approver", counts.per_approver),
        ("hits per rule", counts.per_rule),
    ):
        out.print(f"{title}:" + ("" if rows else " none"), highlight=False)
        for key, n in rows:
            out.print(f"  {key}\t{n}", highlight=False)


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """`30d`, `12h`, `45m` back from now, or an ISO 8601 time with a zone; None for all."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return now - timedelta(**{unit: int(match[1])})
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since: {text!r} is neither like 30d, 12h nor an ISO time") from None
    if at.tzinfo is None:
        raise ValueError(f"--since: {text!r} has no time zone (add Z or +00:00)")
    return at


def demo_world(accounts: int = 5000, seed: int = 1) -> tuple[dict[str, object], list[SynthRequest]]:
    """The demo's exchange, timed to now: the load file and the stream to queue."""
    world = generate(accounts, seed, now=utc_now())
    return to_load_file(world), world.requests


def queue_demo_requests(application: bootstrap.App, stream: list[SynthRequest], limit: int) -> int:
    """Submit the first `limit` requests of the stream through intake; returns how many took.

    Some are refused or conflict by design (a legal hold asked by support): those are skipped.
    """
    done = 0
    for req in stream[:limit]:
        with application.uow(readonly=True) as uow:
            actor = uow.principals.get(req.requester)
        if actor is None:
            continue
        body = intake.NewRequest(
            kind=req.kind,
            account_id=req.account_id,
            targets=list(req.targets),
            justification=req.justification,
            evidence=list(req.evidence),
        )
        try:
            intake.submit(application.uow(), application.env, actor=actor, body=body)
        except DomainError:
            continue
        done += 1
    return done
