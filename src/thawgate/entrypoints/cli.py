"""The operator CLI (API.md). Errors end as one readable line and a non-zero exit."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import pydantic
import sqlalchemy as sa
import typer
import yaml
from rich.console import Console
from rich.progress import Progress

from thawgate import bootstrap
from thawgate.adapters.db.engine import make_engine
from thawgate.config import Settings
from thawgate.domain import errors
from thawgate.domain.errors import DomainError, ValidationFailed
from thawgate.entrypoints import cli_authority, cli_risk
from thawgate.entrypoints.cli_audit import audit_app, init_dev_key
from thawgate.policy.authz import Authorizer, AuthzLoadError, run_policy_tests
from thawgate.services import corrections, identity, loader

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Thawgate: the one gate for every thaw and unbind.",
)


@app.callback()
def _settings_first() -> None:
    """Every command reads the THAWGATE_* settings: a bad one is one error line, before anything
    else runs."""
    _run(Settings)


token_app = typer.Typer(no_args_is_help=True, help="Bearer tokens for the API.")
password_app = typer.Typer(no_args_is_help=True, help="Console passwords.")
jobs_app = typer.Typer(no_args_is_help=True, help="Execution jobs.")
policy_app = typer.Typer(no_args_is_help=True, help="The policy pack.")
app.add_typer(token_app, name="token")
app.add_typer(password_app, name="password")
app.add_typer(jobs_app, name="jobs")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(cli_risk.risk_app, name="risk")
app.command("synth")(cli_risk.synth)
app.add_typer(cli_authority.grants_app, name="grants")
app.add_typer(cli_authority.break_glass_app, name="break-glass")
app.add_typer(cli_authority.access_app, name="access")
app.add_typer(cli_authority.principals_app, name="principals")
cli_authority.add_policy_commands(policy_app)

err = Console(stderr=True)
out = Console(soft_wrap=True)  # tokens and URLs must stay on one line
T = TypeVar("T")

# Each error kind's exit code: scripts can tell them apart.
EXIT_CODES: dict[type[Exception], int] = {
    errors.ValidationFailed: 2,
    errors.NotFound: 3,
    errors.Forbidden: 4,
    errors.SeparationOfDuties: 4,
    errors.Unauthenticated: 4,
    errors.Conflict: 5,
    errors.Stale: 5,
    errors.IdempotencyMismatch: 2,
    errors.PolicyError: 6,
    bootstrap.NotInitialised: 7,
    AuthzLoadError: 6,
}


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except sa.exc.DBAPIError as exc:  # cannot connect, cannot open the file, ...
        err.print(
            f"[red]error:[/red] database: {_one_line(str(exc.orig))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    except pydantic.ValidationError as exc:  # a THAWGATE_* setting of the wrong kind
        first = exc.errors()[0]
        name = "THAWGATE_" + str(first["loc"][0] if first["loc"] else "?").upper()
        got = "" if "SECRET" in name else f" (got {first.get('input')!r})"
        err.print(
            f"[red]error:[/red] {name}: {first['msg']}{got}",
            highlight=False,
            soft_wrap=True,
            markup=True,
        )
        raise typer.Exit(2) from None
    except sa.exc.ArgumentError as exc:  # not a database URL SQLAlchemy knows
        err.print(
            f"[red]error:[/red] THAWGATE_DATABASE_URL: {exc}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
    except (DomainError, bootstrap.NotInitialised, AuthzLoadError, ValueError, OSError) as exc:
        code = next((c for cls, c in EXIT_CODES.items() if isinstance(exc, cls)), 1)
        detail = exc.detail if isinstance(exc, DomainError) else str(exc)
        err.print(f"[red]error:[/red] {_one_line(detail)}", highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _run(fn: Callable[[], T]) -> T:
    with _errors():
        return fn()


@app.command()
def init() -> None:
    """Create or upgrade the database (alembic upgrade head) and register the shipped policy."""
    settings = Settings()

    def go() -> None:
        settings.check()
        engine = make_engine(settings.database_url)
        bootstrap.migrate(settings, engine)
        engine.dispose()
        init_dev_key(settings)

    _run(go)
    out.print(f"database ready: {_redact(settings.database_url)}")


@app.command()
def load(file: Annotated[Path, typer.Argument(dir_okay=False)]) -> None:
    """Load an organisation and world file (YAML). Idempotent by ids."""

    def go() -> loader.LoadReport:
        if not file.is_file():  # here, not typer's `exists=True`: one line, not a usage box
            raise ValidationFailed(f"{file}: no such file")
        try:
            data = yaml.safe_load(file.read_text())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "cannot parse"
            raise ValidationFailed(f"{file}: not valid YAML{where}: {problem}") from None
        return _load_data(data)

    report = _run(go)
    for where in report.ignored:
        err.print(f"warning: unknown key ignored: {where}", markup=False, highlight=False)
    out.print(
        f"loaded: {report.principals} principals, {report.accounts} accounts, "
        f"{report.restrictions} restrictions, {report.bindings} bindings, "
        f"{report.events} events (existing ids left as they were)"
    )


def _load_data(data: object) -> loader.LoadReport:
    application = bootstrap.build()
    accounts = data.get("accounts") if isinstance(data, dict) else None
    total = len(accounts) if isinstance(accounts, list) else 0
    with Progress(console=err, transient=True, disable=total < 500) as progress:
        task = progress.add_task("loading accounts", total=total)
        return loader.load_world(
            application.uow(),
            application.env,
            data,
            progress=lambda n: progress.update(task, completed=n),
        )


@token_app.command("issue")
def token_issue(
    principal_id: str,
    ttl: Annotated[str, typer.Option(help="lifetime, e.g. 30m, 8h, 7d")] = "8h",
) -> None:
    """Print one bearer token for PRINCIPAL_ID on stdout."""

    def go() -> str:
        application = bootstrap.build()
        return identity.issue_token(
            application.uow(), application.env, principal_id=principal_id, ttl=parse_ttl(ttl)
        )

    sys.stdout.write(_run(go) + "\n")


def parse_ttl(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise ValidationFailed(f"ttl: {text!r} is not like 30m, 8h or 7d", field="ttl")
    n, unit = int(match[1]), match[2]
    try:
        ttl = timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})
    except OverflowError:
        ttl = MAX_TTL + MAX_TTL
    if ttl > MAX_TTL:
        raise ValidationFailed(f"ttl: {text!r} is longer than {MAX_TTL.days} days", field="ttl")
    return ttl


MAX_TTL = timedelta(days=3650)  # beyond this, `now + ttl` soon leaves the calendar


@password_app.command("set")
def password_set(principal_id: str) -> None:
    """Read a password from standard input and set it for console login."""
    password = sys.stdin.readline().rstrip("\n")

    def go() -> None:
        application = bootstrap.build()
        identity.set_password(
            application.uow(), application.env, principal_id=principal_id, password=password
        )

    _run(go)
    out.print(f"password set for {principal_id}")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    worker: Annotated[bool, typer.Option(help="run the execution worker in-process")] = True,
) -> None:
    """Serve the API with an in-process execution worker: the embedded default."""
    if not 1 <= port <= MAX_PORT:  # the socket layer would take it modulo 65536, silently
        _run(lambda: _bad_port(port))
    import uvicorn

    from thawgate.entrypoints.api.app import create_app
    from thawgate.entrypoints.worker import start_in_thread

    application = _run(bootstrap.build)
    stop = None
    if worker:
        _, stop = start_in_thread(application)
    try:
        uvicorn.run(create_app(application), host=host, port=port, log_level="warning")
    finally:
        if stop is not None:
            stop.set()


MAX_PORT = 65535


def _bad_port(port: int) -> None:
    raise ValidationFailed(f"port: {port} is not a TCP port (1 to {MAX_PORT})", field="port")


@app.command("worker")
def worker_cmd() -> None:
    """Run an execution worker alone. Production runs N of these."""
    from thawgate.entrypoints.worker import run

    application = _run(bootstrap.build)
    stop = threading.Event()
    out.print("worker started; Ctrl-C stops it")
    try:
        run(application, stop)
    except KeyboardInterrupt:
        stop.set()


@app.command("account-sim")
def account_sim(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8900,
) -> None:
    """Serve the reference account system (docs/account-system.md), with switchable faults."""
    import uvicorn

    from thawgate.entrypoints.account_sim import create_sim

    uvicorn.run(create_sim(), host=host, port=port, log_level="warning")


@jobs_app.command("failed")
def jobs_failed() -> None:
    """List execution jobs that failed permanently, with their reasons."""
    application = _run(bootstrap.build)
    with application.uow(readonly=True) as uow:
        failed = uow.jobs.failed()
    if not failed:
        out.print("no failed jobs")
    for job in failed:
        out.print(f"{job.request_id}\t{job.id}\tattempts={job.attempts}\t{job.last_error}")


@jobs_app.command("retry")
def jobs_retry(
    request_id: str,
    by: Annotated[str, typer.Option("--by", help="the operator retrying (needs retry rights)")],
    comment: Annotated[str, typer.Option(help="why it is safe to retry")] = "retried by operator",
) -> None:
    """Send a failed request back to execution. Audited; the operator needs retry rights."""

    def go() -> str:
        application = bootstrap.build()
        actor = cli_authority.acting(application, by)
        return corrections.retry_failed(
            application.uow(), application.env, actor=actor, request_id=request_id, comment=comment
        ).status

    out.print(f"{request_id}: {_run(go)}")


@policy_app.command("check")
def policy_check() -> None:
    """Validate the Cedar policies against the schema and run the policy test table."""
    settings = Settings()

    def go() -> list[str]:
        authorizer = Authorizer.from_directory(settings.policy_dir)
        return run_policy_tests(authorizer, settings.policy_dir / "authz_tests.yaml")

    failures = _run(go)
    for line in failures:
        err.print(f"[red]FAIL[/red] {line}", highlight=False)
    if failures:
        raise typer.Exit(1)
    out.print("Cedar policies validate against the schema; every policy test passes")


DEMO_PASSWORD = "thawgate-demo"  # noqa: S105  # the demo's console logins, development only


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
) -> None:
    """Init, load a synthetic exchange (~5,000 accounts) with pending requests, and serve it."""
    init()
    data, stream = cli_risk.demo_world()
    report = _run(lambda: _load_data(data))
    application = _run(bootstrap.build)
    if report.accounts:
        queued = cli_risk.queue_demo_requests(application, stream, limit=80)
        out.print(f"queued {queued} requests from the synthetic stream")
    tokens = {
        pid: identity.issue_token(
            application.uow(), application.env, principal_id=pid, ttl=timedelta(hours=12)
        )
        for pid in ("alice", "fay", "sam", "lena", "app")
    }
    for pid in tokens:
        identity.set_password(
            application.uow(), application.env, principal_id=pid, password=DEMO_PASSWORD
        )
    out.print(
        f"\n[bold]Thawgate demo[/bold] at http://{host}:{port}  (API under /v1, "
        f"OpenAPI at /openapi.json)"
    )
    out.print(
        f"  console: http://{host}:{port}/login  users {', '.join(tokens)}; "
        f"password {DEMO_PASSWORD!r} (development only)"
    )
    for pid, tok in tokens.items():
        out.print(f"  {pid:6} Authorization: Bearer {tok}")
    out.print(
        f"  try: curl -H 'Authorization: Bearer {tokens['fay']}' "
        f"http://{host}:{port}/v1/requests?status=pending_approval\n"
    )
    if serve_after:
        serve(host=host, port=port, worker=True)


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
