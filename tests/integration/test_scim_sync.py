"""`thawgate principals sync`: SCIM 2.0 Users and Groups create, update and deactivate
principals; it never grants a role, at most proposes one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.authority_support import caller, grant_role, load_admins
from tests.integration.cli_support import thawgate
from tests.integration.conftest import count_rows
from tests.integration.helpers import status, submit

from thawgate.bootstrap import App
from thawgate.domain.errors import Forbidden, SeparationOfDuties, ValidationFailed
from thawgate.services import grants, review, scim

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def user(uid: str, name: str, *, active: bool = True, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schemas": [USER],
        "id": uid,
        "userName": name,
        "name": {"givenName": name.title(), "familyName": "Okafor"},
        "active": active,
    }
    if display:
        out["displayName"] = display
    return out


def group(gid: str, display: str, *members: str) -> dict[str, Any]:
    return {
        "schemas": [GROUP],
        "id": gid,
        "displayName": display,
        "members": [{"value": m} for m in members],
    }


def listing(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemas": [LIST],
        "totalResults": len(resources),
        "Resources": list(resources),
    }


BASE = listing(
    user("u-1", "ola", display="Ola Okafor"),
    user("u-2", "tom"),
    group("g-1", "team:fraud_risk", "u-1"),
    group("g-2", "customer_support", "u-2"),
    group("g-3", "role:fraud_reviewer", "u-1"),
)


@pytest.fixture
def org(loaded: App) -> App:
    load_admins(loaded)
    return loaded


def _sync(app: App, document: Any, **kw: Any) -> scim.SyncReport:
    return scim.sync(app.uow(), app.env, actor=caller(app, "ada"), document=document, **kw)


def _principal(app: App, pid: str) -> tuple[str, str, frozenset[str], bool]:
    with app.uow(readonly=True) as uow:
        p = uow.principals.get(pid, as_of=app.env.clock())
    assert p is not None, pid
    return p.name, p.team, p.roles, p.active


def test_creates_principals_with_teams_and_no_roles(org: App) -> None:
    dry = _sync(org, BASE, dry_run=True)
    assert dry.summary().startswith("sync: 2 created, 0 updated")
    assert dry.summary().endswith("(dry run: nothing written)")
    assert count_rows(org, "SELECT count(*) FROM principals WHERE scim_id IS NOT NULL") == 0

    report = _sync(org, BASE)
    assert (report.created, report.proposed) == (2, 0)
    assert _principal(org, "ola") == ("Ola Okafor", "fraud_risk", frozenset(), True)
    assert _principal(org, "tom") == ("Tom Okafor", "customer_support", frozenset(), True)
    created = "SELECT count(*) FROM audit_events WHERE action = 'principal:created' AND "
    assert count_rows(org, created + "actor != 'operator'") == 2  # not the load file's
    assert _sync(org, BASE).summary() == (
        "sync: 0 created, 0 updated, 0 deactivated, 2 unchanged, 0 left inactive, 0 grants proposed"
    )


def test_updates_deactivates_and_never_reactivates(org: App) -> None:
    _sync(org, BASE)
    moved = listing(
        user("u-1", "ola", display="Ola O. Okafor"),
        user("u-2", "tom", active=False),
        group("g-1", "team:risk_ops", "u-1"),
    )
    report = _sync(org, moved)
    assert (report.updated, report.deactivated) == (1, 1)
    assert _principal(org, "ola")[:2] == ("Ola O. Okafor", "risk_ops")
    assert _principal(org, "tom")[3] is False
    back = _sync(org, BASE)
    assert back.left_inactive == 1
    assert _principal(org, "tom")[3] is False  # turning access back on is not sync's to do


def test_a_full_sync_deactivates_the_absent_but_only_those_it_provisioned(org: App) -> None:
    _sync(org, BASE)
    only_ola = listing(user("u-1", "ola", display="Ola Okafor"), group("g", "fraud_risk", "u-1"))
    assert _sync(org, only_ola).deactivated == 0  # absence means nothing without --full
    report = _sync(org, only_ola, full=True)
    assert report.deactivated == 1
    assert _principal(org, "tom")[3] is False
    assert _principal(org, "alice")[3] is True  # a load-file principal, never linked


def test_deactivation_voids_approvals_on_open_requests(org: App) -> None:
    _sync(org, BASE)
    grant_role(org, "ola", "fraud_reviewer")
    r = submit(org, "alice", "A1", ["r-ato"])
    review.approve(org.uow(), org.env, actor=caller(org, "ola"), request_id=r.id, comment="ok")
    assert status(org, r.id) == "approved"
    _sync(org, listing(user("u-1", "ola", active=False)))
    assert status(org, r.id) == "pending_approval"


def test_role_groups_only_propose_grants(org: App) -> None:
    _sync(org, BASE)
    report = _sync(org, BASE, propose_roles=True)
    assert report.proposed == 1
    assert "fraud_reviewer" not in _principal(org, "ola")[2]
    [pending] = grants.list_grants(org.uow(), org.env, actor=caller(org, "abe"), status="pending")
    assert (pending.principal_id, pending.role, pending.proposed_by) == (
        "ola",
        "fraud_reviewer",
        "ada",
    )
    assert _sync(org, BASE, propose_roles=True).proposed == 0  # already proposed
    with pytest.raises(SeparationOfDuties):
        grants.approve(
            org.uow(), org.env, actor=caller(org, "ada"), grant_id=pending.id, comment="x"
        )
    grants.approve(org.uow(), org.env, actor=caller(org, "abe"), grant_id=pending.id, comment="ok")
    assert "fraud_reviewer" in _principal(org, "ola")[2]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (listing(user("u-1", "ola"), group("a", "fraud_risk", "u-1"), group("b", "legal", "u-1")),
         "more than one team"),
        (listing(user("u-1", "ola")), "no team group"),
        (listing(user("u-1", "ola"), group("a", "team:marketing", "u-1")), "not a team"),
        (listing(user("u-1", "ola"), group("a", "role:system", "u-1")), "not a grantable role"),
        (listing(user("u-1", "o la")), "cannot be a principal id"),
        (listing({"schemas": [USER], "userName": "x"}), "id: required"),
        ({"totalResults": 0}, "no `Resources`"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_whole(org: App, document: Any, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem):
        _sync(org, {"Users": document} if "Resources" in document else document)
    assert count_rows(org, "SELECT count(*) FROM principals WHERE scim_id IS NOT NULL") == 0


def test_only_access_admins_sync(org: App) -> None:
    with pytest.raises(Forbidden):
        scim.sync(org.uow(), org.env, actor=caller(org, "pia"), document=BASE)


def test_sync_from_the_cli_with_a_users_and_groups_bundle(org: App, tmp_path: Path) -> None:
    bundle = {
        "Users": listing(user("u-1", "ola"), user("u-2", "tom")),
        "Groups": [group("g-1", "team:fraud_risk", "u-1", "u-2")],
    }
    path = tmp_path / "scim.json"
    path.write_text(json.dumps(bundle))
    dry = thawgate(org, "principals", "sync", str(path), "--by", "ada", "--dry-run", "-v")
    assert dry.code == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "created ola (fraud_risk)",
        "created tom (fraud_risk)",
        "sync: 2 created, 0 updated, 0 deactivated, 0 unchanged, 0 left inactive, "
        "0 grants proposed (dry run: nothing written)",
    ]
    done = thawgate(org, "principals", "sync", str(path), "--by", "ada")
    assert done.code == 0, done.stderr
    assert _principal(org, "tom")[1] == "fraud_risk"
    path.write_text("{not json")
    bad = thawgate(org, "principals", "sync", str(path), "--by", "ada")
    assert bad.code == 2
    assert "not valid JSON" in bad.error_line()


def test_a_role_holders_team_move_is_held_and_audited(org: App) -> None:
    """A team is authority (the thaw matrix, need to know, floor item 4's distinct teams): the IdP
    alone does not move someone who holds a role, whether from the load file or a grant."""
    fay_moves = listing(user("u-9", "fay"), group("g-9", "team:compliance", "u-9"))
    report = _sync(org, fay_moves)
    assert report.held == 1
    assert report.summary().endswith(", 1 team moves held")
    assert _principal(org, "fay")[1] == "fraud_risk"  # a load-file fraud_reviewer stays put
    assert report.changes == [
        "held fay: team fraud_risk -> compliance (holds fraud_reviewer; move it in the load "
        "file, or revoke the roles first)",
        "updated fay: name, scim_id",  # linked to the IdP user, as any match is
    ]
    held = "SELECT count(*) FROM audit_events WHERE action = 'principal:team-change:held'"
    assert count_rows(org, held) == 1

    _sync(org, BASE)
    g = grant_role(org, "ola", "fraud_reviewer")
    ola_moves = listing(user("u-1", "ola", display="Ola Okafor"),
                        group("g-1", "team:compliance", "u-1"))  # fmt: skip
    assert _sync(org, ola_moves).held == 1
    assert _principal(org, "ola")[1] == "fraud_risk"  # a granted role holds her too
    grants.revoke(org.uow(), org.env, actor=caller(org, "abe"), grant_id=g.id, comment="moving")
    moved = _sync(org, ola_moves)
    assert (moved.held, moved.updated) == (0, 1)
    assert _principal(org, "ola")[1] == "compliance"
