"""`thawgate audit ...`: verify the log (in the database, or an export with no database), export
it, sign a checkpoint now, make a signing key. Exit 0 when the log verifies; otherwise 8, with the
first bad sequence number on standard error."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from thawgate import bootstrap
from thawgate.adapters.audit.export_dir import ExportError, ExportReader, ExportWriter
from thawgate.adapters.audit.signer import AuditKeyError, generate_key_file, signature_check
from thawgate.adapters.db.engine import make_engine
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.config import Settings
from thawgate.domain.log_verifier import Report
from thawgate.entrypoints import audit_wiring
from thawgate.services import audit_log, audit_verify
from thawgate.services.audit_verify import TrustedKey

audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
err = Console(stderr=True)
out = Console()
EXIT_NOT_VERIFIED = 8
EXIT_UNUSABLE = 2

PublicKeyOption = Annotated[
    str | None,
    typer.Option(
        "--public-key",
        help="trust only this key: a C2SP verifier key (origin+keyid+base64), as "
        "`GET /v1/audit/public-key` gives it; by default, this deployment's own key "
        "(or, with --export, the key the export carries)",
    ),
]


@audit_app.command("verify")
def verify(
    export: Annotated[
        Path | None,
        typer.Option(help="verify this export directory, with no database", file_okay=False),
    ] = None,
    public_key: PublicKeyOption = None,
) -> None:
    """Recompute every leaf and the tree; check every checkpoint's signature, successive
    checkpoints' consistency, and the witness file. Names the first bad sequence number."""
    started = time.perf_counter()
    try:
        pinned = TrustedKey.parse(public_key) if public_key else None
        if export is not None:
            report = audit_verify.verify_export(ExportReader(export), pinned=pinned)
        else:
            report = _verify_database(pinned)
    except (ExportError, AuditKeyError, ValueError, OSError, bootstrap.NotInitialised) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    _print(report, time.perf_counter() - started)
    if not report.ok:
        raise typer.Exit(EXIT_NOT_VERIFIED)


def _verify_database(pinned: TrustedKey | None) -> Report:
    """Only the database and the audit settings: no policies to load, no app to build."""
    settings = Settings()
    settings.check()
    key = pinned or audit_wiring.trusted_key(settings)
    engine = make_engine(settings.database_url)
    try:
        bootstrap.check_schema(settings, engine)
        witness = audit_wiring.witness(settings)
        return audit_verify.verify_database(
            lambda: UnitOfWork(engine), key=key, read_witness=witness.read
        )
    finally:
        engine.dispose()


def _print(report: Report, seconds: float) -> None:
    if report.ok:
        out.print(
            f"audit log verifies: {report.size} events, {report.checkpoints} checkpoints, "
            f"{report.covered} events covered by a signed checkpoint ({seconds:.1f} s)",
            soft_wrap=True,
        )
        if report.covered < report.size:
            out.print(f"  events {report.covered}.. are not yet covered by a checkpoint")
        out.print(f"  signatures checked against {report.key}", highlight=False, soft_wrap=True)
        return
    first = report.first_bad_seq
    headline = "audit log does NOT verify"
    if first is not None:
        headline += f": first bad sequence number {first}"
    err.print(f"[red]{headline}[/red]", highlight=False)
    for problem in report.problems:
        where = "" if problem.seq is None else f"seq {problem.seq}: "
        err.print(f"  - {where}{problem.message}", highlight=False, soft_wrap=True)
    if report.truncated:
        err.print("  - ... and more", highlight=False)


@audit_app.command("export")
def export(directory: Annotated[Path, typer.Argument(file_okay=False)]) -> None:
    """Write the log (JSONL, one JCS event a line), its checkpoints, the witness file and the
    public key to DIRECTORY, for `thawgate audit verify --export DIRECTORY`."""
    try:
        application = bootstrap.build()
        settings = application.settings
        key = audit_wiring.trusted_key(settings)
        count = audit_verify.export_log(
            application.uow,
            writer=ExportWriter(directory),
            key=key,
            witness_lines=audit_wiring.witness(settings).lines,
        )
    except (ExportError, AuditKeyError, OSError, bootstrap.NotInitialised) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    out.print(f"exported {count} events to {directory}")


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint of the log now, if it grew since the last one."""
    try:
        application = bootstrap.build()
        settings = application.settings
        key = audit_wiring.signer(settings)
        issued = audit_log.issue_checkpoint(
            application.uow(),
            signer=key,
            witness=audit_wiring.witness(settings),
            signature_ok=signature_check(key.public_key),
            at=application.env.clock(),
        )
    except (AuditKeyError, OSError, bootstrap.NotInitialised, audit_log.AuditLogCorrupt) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    if issued is None:
        out.print("no new events since the last checkpoint")
    else:
        sys.stdout.write(issued.note)


@audit_app.command("keygen")
def keygen(path: Annotated[Path, typer.Argument(dir_okay=False)]) -> None:
    """Write a new Ed25519 signing key to PATH (never overwrites). For production, point
    THAWGATE_AUDIT_KEY_FILE at it; keep it from anyone with database access."""
    try:
        generate_key_file(path)
    except OSError as exc:
        err.print(f"[red]error:[/red] {path}: {exc.strerror}", highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    out.print(f"wrote {path}")


def init_dev_key(settings: Settings) -> None:
    """`thawgate init`: generate the development signing key if there is none, loudly."""
    created = audit_wiring.ensure_dev_key(settings)
    if created is not None:
        err.print(
            f"[bold red]WARNING:[/bold red] {audit_wiring.DEV_KEY_WARNING.format(path=created)}",
            highlight=False,
            soft_wrap=True,
        )
