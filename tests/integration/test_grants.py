"""Two-key role grants, expiry, revocation and suspension (POLICY.md floor items 8 and 9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.integration.authority_support import caller, grant_role, load_admins
from tests.integration.conftest import Clock, count_rows
from tests.integration.helpers import approve, drain, status, submit

from thawgate.bootstrap import App
from thawgate.domain.errors import (
    Forbidden,
    SeparationOfDuties,
    Unauthenticated,
    ValidationFailed,
)
from thawgate.entrypoints.api.app import create_app
from thawgate.services import grants, identity, review


@pytest.fixture
def org(loaded: App) -> App:
    load_admins(loaded)
    return loaded


def _propose(app: App, by: str, principal: str, role: str, days: float = 30) -> str:
    g = grants.propose(
        app.uow(),
        app.env,
        actor=caller(app, by),
        principal_id=principal,
        role=role,
        expires_at=app.env.clock() + timedelta(days=days),
        justification="queue cover",
    )
    assert g.status == "pending"
    return g.id


def test_a_grant_needs_a_second_access_admin_and_then_adds_the_role(org: App) -> None:
    gid = _propose(org, "ada", "newbie", "fraud_reviewer")
    assert "fraud_reviewer" not in caller(org, "newbie").roles  # pending grants add nothing
    with pytest.raises(SeparationOfDuties, match="proposed"):
        grants.approve(org.uow(), org.env, actor=caller(org, "ada"), grant_id=gid, comment="me")
    g = grants.approve(org.uow(), org.env, actor=caller(org, "abe"), grant_id=gid, comment="ok")
    assert g.status == "active"
    assert "fraud_reviewer" in caller(org, "newbie").roles
    refusals = "SELECT count(*) FROM audit_events WHERE action = 'refused:separation-of-duties'"
    assert count_rows(org, refusals) == 1


def test_an_admin_granting_themselves_a_role_needs_a_colleague(org: App) -> None:
    gid = _propose(org, "ada", "ada", "policy_admin")
    with pytest.raises(SeparationOfDuties):
        grants.approve(org.uow(), org.env, actor=caller(org, "ada"), grant_id=gid, comment="x")
    grants.approve(org.uow(), org.env, actor=caller(org, "abe"), grant_id=gid, comment="ok")
    assert "policy_admin" in caller(org, "ada").roles


def test_the_grantee_never_approves_their_own_grant(org: App) -> None:
    gid = _propose(org, "ada", "abe", "auditor")
    with pytest.raises(SeparationOfDuties, match="yours"):
        grants.approve(org.uow(), org.env, actor=caller(org, "abe"), grant_id=gid, comment="x")


def test_only_access_admins_propose(org: App) -> None:
    with pytest.raises(Forbidden):
        _propose(org, "fay", "newbie", "fraud_reviewer")


@pytest.mark.parametrize(
    ("role", "days", "problem"),
    [("system", 10, "never granted"), ("fraud_reviewer", 91, "90 days"), ("auditor", -1, "future")],
)
def test_what_may_be_granted(org: App, role: str, days: float, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem):
        _propose(org, "ada", "newbie", role, days=days)


def test_a_role_is_not_usable_after_its_expiry(org: App, clock: Clock) -> None:
    grant_role(org, "newbie", "fraud_reviewer", days=1)
    r = submit(org, "alice", "A1", ["r-ato"])
    clock.advance(days=1, seconds=1)
    with pytest.raises(Forbidden):
        review.approve(
            org.uow(), org.env, actor=caller(org, "newbie"), request_id=r.id, comment="late"
        )
    assert grants.lapse_expired(org.uow(), org.env) == 1
    assert count_rows(org, "SELECT count(*) FROM grants WHERE status = 'expired'") == 1


def test_a_token_brings_every_active_grant_and_no_other(org: App, clock: Clock) -> None:
    """The API's token lookup (one statement, read-only) sums load-file roles and grants."""
    grant_role(org, "newbie", "fraud_reviewer", days=3)
    grant_role(org, "newbie", "auditor", days=10)
    revoked = grant_role(org, "newbie", "legal_reviewer")
    grants.revoke(org.uow(), org.env, actor=caller(org, "abe"), grant_id=revoked.id, comment="x")
    token = identity.issue_token(org.uow(), org.env, principal_id="newbie", ttl=timedelta(days=5))
    grant_role(org, "alice", "auditor")
    alice = identity.issue_token(org.uow(), org.env, principal_id="alice", ttl=timedelta(days=1))

    def roles() -> frozenset[str]:
        return identity.authenticate(org.uow(readonly=True), org.env, token).roles

    assert roles() == frozenset({"fraud_reviewer", "auditor"})
    both = identity.authenticate(org.uow(readonly=True), org.env, alice).roles
    assert both == frozenset({"requester", "auditor"})  # the load file's and the grant's
    clock.advance(days=4)
    assert roles() == frozenset({"auditor"})
    clock.advance(days=2)
    with pytest.raises(Unauthenticated, match="expired"):
        roles()


def test_an_approval_right_after_revocation_is_refused(org: App) -> None:
    g = grant_role(org, "newbie", "fraud_reviewer")
    r = submit(org, "alice", "A1", ["r-ato"])
    before_revocation = caller(org, "newbie")  # authenticated earlier, still in hand
    grants.revoke(org.uow(), org.env, actor=caller(org, "abe"), grant_id=g.id, comment="left")
    with pytest.raises(Forbidden):
        review.approve(
            org.uow(), org.env, actor=caller(org, "newbie"), request_id=r.id, comment="x"
        )
    # Even a principal object from before the revocation cannot fill the clause for long: the
    # approval it makes is voided before execution.
    review.approve(org.uow(), org.env, actor=before_revocation, request_id=r.id, comment="raced")
    assert status(org, r.id) == "approved"
    drain(org)
    assert status(org, r.id) == "pending_approval"


def test_revocation_voids_approvals_on_open_requests(org: App) -> None:
    g = grant_role(org, "newbie", "fraud_reviewer")
    r = submit(org, "alice", "A1", ["r-ato"])
    approve_as = caller(org, "newbie")
    review.approve(org.uow(), org.env, actor=approve_as, request_id=r.id, comment="ok")
    assert status(org, r.id) == "approved"
    grants.revoke(org.uow(), org.env, actor=caller(org, "ada"), grant_id=g.id, comment="moved")
    assert status(org, r.id) == "pending_approval"
    drain(org)
    assert status(org, r.id) == "pending_approval"  # never executed
    voided = "SELECT count(*) FROM audit_events WHERE action = 'request:approval-voided'"
    assert count_rows(org, voided) == 1
    approve(org, "fay", r.id)
    drain(org)
    assert status(org, r.id) == "executed"


def test_expiry_voids_approvals_before_execution(org: App, clock: Clock) -> None:
    grant_role(org, "newbie", "fraud_reviewer", days=1)
    r = submit(org, "alice", "A1", ["r-ato"])
    org.env.hooks.clear()
    review.approve(org.uow(), org.env, actor=caller(org, "newbie"), request_id=r.id, comment="k")
    assert status(org, r.id) == "approved"
    clock.advance(days=1, minutes=1)
    drain(org)  # the worker checks the approvals' roles before it applies anything
    assert status(org, r.id) == "pending_approval"


def test_suspension_stops_access_at_once_and_voids_approvals(org: App) -> None:
    r = submit(org, "alice", "A1", ["r-ato"])
    fay = caller(org, "fay")
    token_check = caller(org, "fay")
    assert token_check.active
    review.approve(org.uow(), org.env, actor=fay, request_id=r.id, comment="ok")
    grants.suspend(org.uow(), org.env, actor=caller(org, "ada"), principal_id="fay", comment="x")
    with pytest.raises(Unauthenticated):
        caller(org, "fay")
    assert status(org, r.id) == "pending_approval"


def test_principal_view_lists_load_file_and_granted_roles(org: App) -> None:
    g = grant_role(org, "newbie", "requester", days=10)
    view = grants.view_principal(
        org.uow(), org.env, actor=caller(org, "audra"), principal_id="newbie"
    )
    assert [(r.role, r.grant_id) for r in view.roles] == [("requester", g.id)]
    with pytest.raises(Forbidden):
        grants.view_principal(org.uow(), org.env, actor=caller(org, "alice"), principal_id="fay")


def test_the_issue_scenarios_over_http_answer_separation_of_duties(org: App) -> None:
    """Issue #7's grant scenarios as the API answers them: self-approval of a grant, an admin's
    own approval of a grant to themselves, and a policy activated by its own author are each a
    403 `separation-of-duties`, audited; the colleague's approval goes through."""
    client = TestClient(create_app(org))

    def as_(pid: str) -> dict[str, str]:
        token = identity.issue_token(org.uow(), org.env, principal_id=pid, ttl=timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}

    expires = (org.env.clock() + timedelta(days=30)).isoformat()
    proposed = client.post(
        "/v1/grants",
        json={"principal": "ada", "role": "policy_admin", "expires_at": expires,
              "justification": "release week"},
        headers=as_("ada"),
    )  # fmt: skip
    assert proposed.status_code == 201, proposed.json()
    gid = proposed.json()["id"]
    own = client.post(f"/v1/grants/{gid}/approvals", json={"comment": "me"}, headers=as_("ada"))
    assert own.status_code == 403
    assert own.json()["type"] == "urn:thawgate:problem:separation-of-duties"
    ok = client.post(f"/v1/grants/{gid}/approvals", json={"comment": "ok"}, headers=as_("abe"))
    assert (ok.status_code, ok.json()["status"]) == (200, "active")

    document = org.env.policy.document.replace("name: default-2026.11", "name: authored")
    draft = client.post("/v1/policy/versions", json={"document": document}, headers=as_("pia"))
    assert draft.status_code == 201, draft.json()
    version = draft.json()["version"]
    mine = client.post(
        f"/v1/policy/versions/{version}/approvals", json={"comment": "mine"}, headers=as_("pia")
    )
    assert mine.status_code == 403
    assert mine.json()["type"] == "urn:thawgate:problem:separation-of-duties"
    refusals = "SELECT count(*) FROM audit_events WHERE action = 'refused:separation-of-duties'"
    assert count_rows(org, refusals) == 2
