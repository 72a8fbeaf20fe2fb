"""`thawgate grants|policy|break-glass|access|principals ...`: the central authority from the
operator's shell (docs/authority.md).

Every command that changes something acts as a named principal (`--by`), loaded with its
effective roles at this moment, and goes through the same services, Cedar authorization,
separation-of-duties floor and audit log as the API. Errors end as one readable line and a
non-zero exit (the exit codes of `thawgate.entrypoints.cli.EXIT_CODES`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from thawgate import bootstrap
from thawgate.adapters.db.policy_versions_repo import StoredVersion
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.break_glass import BreakGlass
from thawgate.domain.errors import NotFound, Unauthenticated, ValidationFailed
from thawgate.domain.grants import Grant
from thawgate.domain.model import Principal
from thawgate.services import access_review, break_glass, grants, policy_admin, scim
from thawgate.services.env import Env, utc_now

T = TypeVar("T")

grants_app = typer.Typer(no_args_is_help=True, help="Two-key role grants (access admins).")

By = Annotated[
    str, typer.Option("--by", help="the principal acting (its current roles are checked)")
]
Comment = Annotated[str, typer.Option(help="why; recorded in the audit log")]


def run(fn: Callable[[], T]) -> T:
    """The CLI's error handling: one readable line on standard error, a non-zero exit."""
    from thawgate.entrypoints.cli import _run  # the same exit codes as every other command

    return _run(fn)


def acting(application: bootstrap.App, principal_id: str) -> Principal:
    """The named principal exactly as the API would see it now: effective roles, active."""
    with application.uow(readonly=True) as uow:
        principal = uow.principals.get(principal_id, as_of=application.env.clock())
    if principal is None:
        raise NotFound(f"no principal {principal_id}")
    if not principal.active:
        raise Unauthenticated(f"principal {principal_id} is suspended")
    return principal


def as_principal(
    by: str, call: Callable[[UnitOfWork, Env, Principal], T], *, readonly: bool = False
) -> T:
    """Call a service as principal `by` (loaded by `acting`), with the CLI's error handling."""

    def go() -> T:
        application = bootstrap.build()
        actor = acting(application, by)
        return call(application.uow(readonly=readonly), application.env, actor)

    return run(go)


def parse_when(text: str) -> datetime:
    """An aware ISO 8601 moment, or a duration from now such as 30d or 12h."""
    from thawgate.entrypoints.cli import parse_ttl

    if text and text[-1] in "smhd" and text[:-1].isdigit():
        return utc_now() + parse_ttl(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"expires: {text!r} is neither an ISO 8601 time nor a duration like 30d",
            field="expires",
        ) from None
    if moment.tzinfo is None:
        raise ValidationFailed("expires: give a time zone (e.g. Z or +00:00)", field="expires")
    return moment


def grant_line(g: Grant) -> str:
    return (
        f"{g.id}\t{g.principal_id}\t{g.role}\t{g.status}\texpires={g.expires_at.isoformat()}"
        f"\tproposed_by={g.proposed_by}\tapproved_by={g.approved_by or '-'}"
    )


# --------------------------------------------------------------------------------------- grants


@grants_app.command("propose")
def grants_propose(
    principal_id: Annotated[str, typer.Argument(help="who receives the role")],
    role: Annotated[str, typer.Argument(help="the role, e.g. fraud_reviewer")],
    by: By,
    justification: Annotated[str, typer.Option(help="why this principal needs the role")],
    expires: Annotated[
        str, typer.Option(help="when it lapses: ISO 8601 with a zone, or a duration like 30d")
    ] = "30d",
) -> None:
    """Propose a grant (the first key). It adds nothing until a second access admin approves."""
    g = as_principal(
        by,
        lambda uow, env, actor: grants.propose(
            uow,
            env,
            actor=actor,
            principal_id=principal_id,
            role=role,
            expires_at=parse_when(expires),
            justification=justification,
        ),
    )
    typer.echo(grant_line(g))


@grants_app.command("approve")
def grants_approve(grant_id: str, by: By, comment: Comment = "approved from the CLI") -> None:
    """Approve a pending grant (the second key): never its proposer, never its grantee."""
    g = as_principal(
        by,
        lambda uow, env, actor: grants.approve(
            uow, env, actor=actor, grant_id=grant_id, comment=comment
        ),
    )
    typer.echo(grant_line(g))


@grants_app.command("revoke")
def grants_revoke(grant_id: str, by: By, comment: Comment) -> None:
    """Revoke a grant (one key): effective on the next call; voids approvals it backed."""
    g = as_principal(
        by,
        lambda uow, env, actor: grants.revoke(
            uow, env, actor=actor, grant_id=grant_id, comment=comment
        ),
    )
    typer.echo(grant_line(g))


@grants_app.command("suspend")
def grants_suspend(principal_id: str, by: By, comment: Comment) -> None:
    """Suspend a principal (one key): all access stops at once; their approvals are voided."""
    p = as_principal(
        by,
        lambda uow, env, actor: grants.suspend(
            uow, env, actor=actor, principal_id=principal_id, comment=comment
        ),
    )
    typer.echo(f"{p.id}\tsuspended")


@grants_app.command("list")
def grants_list(
    by: By,
    status: Annotated[str | None, typer.Option(help="pending, active, revoked or expired")] = None,
    principal: Annotated[str | None, typer.Option(help="only this principal's grants")] = None,
) -> None:
    """List grants (access admins and auditors), one per line."""
    if status is not None and status not in grants.GRANT_STATUSES:
        run(lambda: _bad_status(status))

    found = as_principal(
        by,
        lambda uow, env, actor: grants.list_grants(
            uow, env, actor=actor, status=status, principal_id=principal
        ),
        readonly=True,
    )
    for g in found:
        typer.echo(grant_line(g))
    typer.echo(f"{len(found)} grants")


def _bad_status(status: str) -> None:
    raise ValidationFailed(
        f"status: {status!r} is not one of {', '.join(grants.GRANT_STATUSES)}", field="status"
    )


# ------------------------------------------------------------------------------ policy versions


def add_policy_commands(policy_app: typer.Typer) -> None:
    """`thawgate policy upload|backtest|activate|list` beside the existing `policy check`."""
    policy_app.command("upload")(policy_upload)
    policy_app.command("backtest")(policy_backtest)
    policy_app.command("activate")(policy_activate)
    policy_app.command("list")(policy_list)


def policy_upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the YAML pack")],
    by: By,
) -> None:
    """Upload a pack as a draft, validated fully (CEL type checks); a retired version's
    document again proposes its re-activation."""

    v = as_principal(
        by,
        lambda uow, env, actor: policy_admin.upload(
            uow, env, actor=actor, document=file.read_text()
        ),
    )
    typer.echo(f"{v.version}\t{v.status}\tsha256={v.sha256}")


def policy_backtest(version: str, by: By) -> None:
    """Replay every recorded request under VERSION and list each changed outcome."""
    result = as_principal(
        by,
        lambda uow, env, actor: policy_admin.backtest(uow, env, actor=actor, version=version),
    )
    for c in result.changed:
        typer.echo(f"{c.request_id}\t{c.old_outcome} -> {c.new_outcome}")
    typer.echo(f"compared {result.compared} requests; {len(result.changed)} outcomes change")


def policy_activate(version: str, by: By, comment: Comment = "activated from the CLI") -> None:
    """Activate a draft (the second key): a policy admin other than its author and proposer."""
    v = as_principal(
        by,
        lambda uow, env, actor: policy_admin.approve(
            uow, env, actor=actor, version=version, comment=comment
        ),
    )
    typer.echo(f"{v.version}\t{v.status}\tactivated_by={v.activated_by}")


def policy_list() -> None:
    """Every stored policy version and its status, oldest first."""

    def go() -> list[StoredVersion]:
        return policy_admin.list_versions(bootstrap.build().uow(readonly=True))

    for v in run(go):
        typer.echo(
            f"{v.version}\t{v.status}\tcreated_by={v.created_by}"
            f"\tactivated_by={v.activated_by or '-'}"
        )


# ---------------------------------------------------------------------------------- break-glass

break_glass_app = typer.Typer(
    no_args_is_help=True, help="Break-glass: a senior fills a missing fraud clause in an emergency."
)


def break_glass_line(b: BreakGlass) -> str:
    return (
        f"{b.id}\t{b.request_id}\t{b.principal}\t{b.clause}\t{b.at.isoformat()}"
        f"\treview={b.review_status}\tverdict={b.verdict or '-'}\t{b.justification}"
    )


@break_glass_app.command("use")
def break_glass_use(
    request_id: str,
    by: By,
    justification: Annotated[str, typer.Option(help="the emergency, in at least 20 characters")],
) -> None:
    """Fill one missing fraud clause of REQUEST_ID. Alerts, and opens a mandatory review."""
    request, record = as_principal(
        by,
        lambda uow, env, actor: break_glass.break_glass(
            uow, env, actor=actor, request_id=request_id, justification=justification
        ),
    )
    typer.echo(f"{break_glass_line(record)}\trequest={request.status}")


@break_glass_app.command("review")
def break_glass_review(
    break_glass_id: str,
    by: By,
    verdict: Annotated[str, typer.Option(help="upheld, or misuse (which alerts)")],
    comment: Comment,
) -> None:
    """The after-the-fact review, by a second senior fraud reviewer."""
    record = as_principal(
        by,
        lambda uow, env, actor: break_glass.review_use(
            uow, env, actor=actor, break_glass_id=break_glass_id, verdict=verdict, comment=comment
        ),
    )
    typer.echo(break_glass_line(record))


@break_glass_app.command("list")
def break_glass_list(
    by: By,
    open_only: Annotated[bool, typer.Option("--open", help="only those awaiting review")] = False,
) -> None:
    """Break-glass uses, newest first."""
    found = as_principal(
        by,
        lambda uow, env, actor: break_glass.list_uses(uow, env, actor=actor, open_only=open_only),
        readonly=True,
    )
    for b in found:
        typer.echo(break_glass_line(b))
    typer.echo(f"{len(found)} break-glass uses" + (" awaiting review" if open_only else ""))


# ------------------------------------------------------------------------------- access reviews

access_app = typer.Typer(no_args_is_help=True, help="Access reviews of role grants.")


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.isoformat(timespec="seconds")


@access_app.command("review")
def access_review_cmd(
    by: By,
    confirm: Annotated[
        list[str] | None, typer.Option("--confirm", help="keep this grant (repeatable)")
    ] = None,
    revoke: Annotated[
        list[str] | None, typer.Option("--revoke", help="revoke this grant (repeatable)")
    ] = None,
    comment: Comment = "access review",
    interactive: Annotated[
        bool, typer.Option("--interactive", help="ask about each grant in turn (a terminal)")
    ] = False,
    overdue_only: Annotated[bool, typer.Option("--overdue", help="list only overdue")] = False,
) -> None:
    """List every active grant by role and team with its expiry and last use; confirm or
    revoke with --confirm/--revoke GRANT_ID, or one by one with --interactive."""

    def load() -> tuple[bootstrap.App, Principal, list[access_review.ReviewGroup]]:
        application = bootstrap.build()
        actor = acting(application, by)
        period = timedelta(days=application.settings.access_review_days)
        groups = access_review.list_for_review(
            application.uow(readonly=True), application.env, actor=actor, period=period
        )
        return application, actor, groups

    application, actor, groups = run(load)
    verdicts = [("confirm", g) for g in confirm or []] + [("revoke", g) for g in revoke or []]
    if interactive:
        verdicts += _ask(groups)
    elif not verdicts:
        _print_review(groups, overdue_only=overdue_only)
        return
    for verdict, grant_id in verdicts:
        action = access_review.confirm if verdict == "confirm" else access_review.revoke

        def go(act: Callable[..., Grant] = action, gid: str = grant_id) -> Grant:
            return act(
                application.uow(), application.env, actor=actor, grant_id=gid, comment=comment
            )

        g = run(go)
        typer.echo(f"{verdict}ed\t{g.id}\t{g.principal_id}\t{g.role}\t{g.status}")
    typer.echo(f"{len(verdicts)} grants reviewed by {actor.id}")


def _print_review(groups: list[access_review.ReviewGroup], *, overdue_only: bool) -> None:
    total = late = 0
    for group in groups:
        items = [i for i in group.items if i.overdue or not overdue_only]
        if not items:
            continue
        typer.echo(f"{group.role} / {group.team}")
        for i in items:
            total += 1
            late += i.overdue
            typer.echo(
                f"  {i.grant.id}\t{i.grant.principal_id}\texpires={_when(i.grant.expires_at)}"
                f"\tlast_used={_when(i.last_used_at)}\treviewed={_when(i.last_reviewed_at)}"
                + ("\tOVERDUE" if i.overdue else "")
            )
    typer.echo(f"{total} active grants; {late} overdue for review")


def _ask(groups: list[access_review.ReviewGroup]) -> list[tuple[str, str]]:
    answers = []
    for group in groups:
        for i in group.items:
            typer.echo(
                f"{group.role} / {group.team}: {i.grant.id} {i.grant.principal_id} "
                f"expires {_when(i.grant.expires_at)}, last used {_when(i.last_used_at)}"
                + (" (OVERDUE)" if i.overdue else "")
            )
            choice = typer.prompt("[c]onfirm, [r]evoke, [s]kip", default="s").strip().lower()
            if choice.startswith("c"):
                answers.append(("confirm", i.grant.id))
            elif choice.startswith("r"):
                answers.append(("revoke", i.grant.id))
    return answers


# ---------------------------------------------------------------------------------- SCIM sync

principals_app = typer.Typer(no_args_is_help=True, help="Principals: provisioning from the IdP.")


@principals_app.command("sync")
def principals_sync(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="SCIM 2.0 Users and Groups JSON")
    ],
    by: By,
    full: Annotated[
        bool, typer.Option("--full", help="deactivate linked principals absent from the file")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report; write nothing")] = False,
    propose_grants: Annotated[
        bool,
        typer.Option(
            "--propose-grants", help="propose (never approve) roles of role:<role> groups"
        ),
    ] = False,
    grant_days: Annotated[int, typer.Option(help="lifetime of proposed grants, in days")] = 30,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="one line per change")] = False,
) -> None:
    """Create, update and deactivate principals from an IdP's SCIM export. Never grants a role."""

    def go() -> scim.SyncReport:
        try:
            document = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                f"{file}: not valid JSON at line {exc.lineno}: {exc.msg}"
            ) from None
        application = bootstrap.build()
        return scim.sync(
            application.uow(),
            application.env,
            actor=acting(application, by),
            document=document,
            full=full,
            dry_run=dry_run,
            propose_roles=propose_grants,
            grant_days=grant_days,
        )

    report = run(go)
    if verbose:
        for change in report.changes:
            typer.echo(change)
    typer.echo(report.summary())
