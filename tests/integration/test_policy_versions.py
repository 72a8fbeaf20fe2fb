"""Policy versions: validated upload, backtest, two-key activation, re-activation."""

from __future__ import annotations

import pytest
from tests.integration.authority_support import caller, load_admins
from tests.integration.conftest import count_rows
from tests.integration.helpers import submit

from thawgate import bootstrap
from thawgate.bootstrap import App
from thawgate.domain.errors import Conflict, Forbidden, PolicyError, SeparationOfDuties
from thawgate.services import policy_admin


@pytest.fixture
def org(loaded: App) -> App:
    load_admins(loaded)
    return loaded


def test_an_invalid_condition_is_refused_naming_the_rule(org: App) -> None:
    good = org.env.policy.document
    bad = good.replace("when: risk_score >= 70\n", "when: risk_score >= 'seventy'\n", 1)
    assert bad != good
    with pytest.raises(PolicyError, match="high-risk"):
        policy_admin.upload(org.uow(), org.env, actor=caller(org, "pia"), document=bad)
    with pytest.raises(Forbidden):
        policy_admin.upload(org.uow(), org.env, actor=caller(org, "fay"), document=bad)


def test_backtest_then_a_second_admin_activates_and_decisions_record_it(org: App) -> None:
    r = submit(org, "alice", "A1", ["r-ato"])
    assert r.decision.outcome == "review"
    old = org.env.active_version
    document = org.env.policy.document.replace("name: default-2026.11", "name: stricter")
    document = document.replace(
        "\nrules:\n",
        "\nrules:\n  - id: freeze-all\n    when: 'true'\n"
        "    effect: reject\n    message: change freeze\n",
        1,
    )
    draft = policy_admin.upload(org.uow(), org.env, actor=caller(org, "pia"), document=document)
    assert draft.status == "draft"
    result = policy_admin.backtest(
        org.uow(), org.env, actor=caller(org, "pol"), version=draft.version
    )
    assert result.compared == 1
    assert [(c.request_id, c.old_outcome, c.new_outcome) for c in result.changed] == [
        (r.id, "review", "reject")
    ]
    with pytest.raises(SeparationOfDuties):
        policy_admin.approve(
            org.uow(), org.env, actor=caller(org, "pia"), version=draft.version, comment="mine"
        )
    assert org.env.active_version == old
    active = policy_admin.approve(
        org.uow(), org.env, actor=caller(org, "pol"), version=draft.version, comment="ok"
    )
    assert active.status == "active"
    assert org.env.active_version == draft.version
    r2 = submit(org, "alice", "A3", ["r-ato3"])
    assert r2.decision.policy_version == draft.version
    assert r2.status == "rejected"
    retired = "SELECT count(*) FROM policy_versions WHERE status = 'retired'"
    assert count_rows(org, retired) == 1

    # Re-activating the previous version goes the same way: proposed, then a second key.
    again = policy_admin.upload(
        org.uow(), org.env, actor=caller(org, "pol"), document=org.env.policies[old].document
    )
    assert (again.version, again.status) == (old, "draft")
    with pytest.raises(SeparationOfDuties):
        policy_admin.approve(org.uow(), org.env, actor=caller(org, "pol"), version=old, comment="x")
    policy_admin.approve(org.uow(), org.env, actor=caller(org, "pia"), version=old, comment="back")
    assert org.env.active_version == old
    with pytest.raises(Conflict):
        policy_admin.upload(
            org.uow(), org.env, actor=caller(org, "pia"), document=org.env.policies[old].document
        )


def test_another_process_follows_the_activation(org: App) -> None:
    other = bootstrap.build(org.settings.model_copy(update={"policy_refresh_seconds": 0.0}))
    try:
        document = org.env.policy.document.replace("name: default-2026.11", "name: next")
        draft = policy_admin.upload(org.uow(), org.env, actor=caller(org, "pia"), document=document)
        policy_admin.approve(
            org.uow(), org.env, actor=caller(org, "pol"), version=draft.version, comment="ok"
        )
        assert other.env.policy.version == draft.version
    finally:
        other.engine.dispose()
