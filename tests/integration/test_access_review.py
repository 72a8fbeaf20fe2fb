"""Access reviews: active grants by role and team, last use, confirm or revoke, lapsing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.integration.authority_support import caller, grant_role, load_admins
from tests.integration.cli_support import thawgate
from tests.integration.conftest import Clock, count_rows
from tests.integration.helpers import submit

from thawgate.bootstrap import App
from thawgate.domain.errors import Forbidden, SeparationOfDuties
from thawgate.services import access_review, alerts, review

PERIOD = timedelta(days=30)


@pytest.fixture
def org(loaded: App) -> App:
    load_admins(loaded)
    return loaded


def _items(app: App, who: str = "audra") -> dict[str, access_review.ReviewItem]:
    groups = access_review.list_for_review(
        app.uow(), app.env, actor=caller(app, who), period=PERIOD
    )
    return {i.grant.id: i for g in groups for i in g.items}


def test_grants_are_grouped_by_role_and_team_with_expiry_and_last_use(org: App) -> None:
    reviewer = grant_role(org, "newbie", "fraud_reviewer", days=60)
    reader = grant_role(org, "pia", "auditor", days=60)
    alerts_reader = grant_role(org, "abe", "senior_fraud_reviewer", days=10, by="abe", second="ada")
    groups = access_review.list_for_review(
        org.uow(), org.env, actor=caller(org, "ada"), period=PERIOD
    )
    assert [(g.role, g.team, [i.grant.id for i in g.items]) for g in groups] == [
        ("auditor", "fraud_risk", [reader.id]),
        ("fraud_reviewer", "fraud_risk", [reviewer.id]),
        ("senior_fraud_reviewer", "security", [alerts_reader.id]),
    ]
    assert all(i.last_used_at is None for g in groups for i in g.items)

    # Using a granted role records its last use; a load-file role has no grant to mark.
    r = submit(org, "alice", "A1", ["r-ato"])
    review.approve(org.uow(), org.env, actor=caller(org, "newbie"), request_id=r.id, comment="ok")
    alerts.list_alerts(org.uow(readonly=True), org.env, actor=caller(org, "abe"), limit=5)
    items = _items(org)
    assert items[reviewer.id].last_used_at == org.env.clock()
    assert items[alerts_reader.id].last_used_at == org.env.clock()
    assert items[reader.id].last_used_at is None
    assert items[reviewer.id].grant.expires_at == reviewer.expires_at


def test_confirm_restarts_the_clock_and_a_lapsed_review_is_overdue(org: App, clock: Clock) -> None:
    g = grant_role(org, "newbie", "fraud_reviewer", days=80)
    clock.advance(days=31)
    assert _items(org)[g.id].overdue
    own = grant_role(org, "ada", "policy_admin", by="ada", second="abe")
    with pytest.raises(SeparationOfDuties):
        access_review.confirm(
            org.uow(), org.env, actor=caller(org, "ada"), grant_id=own.id, comment="mine"
        )
    with pytest.raises(Forbidden):
        access_review.confirm(
            org.uow(), org.env, actor=caller(org, "audra"), grant_id=g.id, comment="read only"
        )
    access_review.confirm(
        org.uow(), org.env, actor=caller(org, "ada"), grant_id=g.id, comment="still on the rota"
    )
    item = _items(org)[g.id]
    assert (item.overdue, item.last_reviewed_at) == (False, clock.now)
    clock.advance(days=30)
    assert _items(org)[g.id].overdue  # the confirmation lapses after the period
    reviews = "SELECT count(*) FROM access_reviews WHERE verdict = 'confirm'"
    assert count_rows(org, reviews) == 1
    events = "SELECT count(*) FROM audit_events WHERE action = 'access-review:confirm'"
    assert count_rows(org, events) == 1


def test_revoke_on_review_takes_the_role_at_once(org: App) -> None:
    g = grant_role(org, "newbie", "fraud_reviewer")
    access_review.revoke(
        org.uow(), org.env, actor=caller(org, "abe"), grant_id=g.id, comment="left the team"
    )
    assert "fraud_reviewer" not in caller(org, "newbie").roles
    assert g.id not in _items(org)
    assert count_rows(org, "SELECT count(*) FROM access_reviews WHERE verdict = 'revoke'") == 1
    assert count_rows(org, "SELECT count(*) FROM audit_events WHERE action = 'grant:revoked'") == 1


def test_access_review_from_the_cli(org: App) -> None:
    keep = grant_role(org, "newbie", "fraud_reviewer")
    drop = grant_role(org, "pia", "auditor")
    listed = thawgate(org, "access", "review", "--by", "ada")
    assert listed.code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "auditor / fraud_risk" in lines
    assert "fraud_reviewer / fraud_risk" in lines
    assert any(keep.id in line and "last_used=never" in line for line in lines)
    assert lines[-1] == "2 active grants; 0 overdue for review"

    done = thawgate(
        org, "access", "review", "--by", "ada", "--confirm", keep.id, "--revoke", drop.id,
        "--comment", "quarterly review",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2 grants reviewed by ada"
    assert "auditor" not in caller(org, "pia").roles

    again = thawgate(org, "access", "review", "--by", "ada", "--revoke", drop.id)
    assert again.code == 5
    assert "revoked" in again.error_line()

    asked = thawgate(org, "access", "review", "--by", "abe", "--interactive", stdin="c\n")
    assert asked.code == 0, asked.stderr
    assert f"confirmed\t{keep.id}" in asked.stdout
    assert count_rows(org, "SELECT count(*) FROM access_reviews") == 3
