"""`thawgate grants ...` and `thawgate policy ...`: same services, Cedar and floor as the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.authority_support import caller, load_admins
from tests.integration.cli_support import thawgate
from tests.integration.conftest import count_rows

from thawgate.bootstrap import App


@pytest.fixture
def org(loaded: App) -> App:
    load_admins(loaded)
    return loaded


def test_a_grant_through_the_cli_takes_two_keys(org: App) -> None:
    proposed = thawgate(
        org, "grants", "propose", "newbie", "fraud_reviewer", "--by", "ada",
        "--justification", "weekend queue", "--expires", "30d",
    )  # fmt: skip
    assert proposed.code == 0, proposed.stderr
    gid, principal, role, status = proposed.stdout.split("\t")[:4]
    assert (principal, role, status) == ("newbie", "fraud_reviewer", "pending")

    own = thawgate(org, "grants", "approve", gid, "--by", "ada")
    assert own.code == 4
    assert "second access admin" in own.error_line()
    assert "fraud_reviewer" not in caller(org, "newbie").roles

    approved = thawgate(org, "grants", "approve", gid, "--by", "abe", "--comment", "ok")
    assert approved.code == 0, approved.stderr
    assert "\tactive\t" in approved.stdout
    assert "fraud_reviewer" in caller(org, "newbie").roles

    listed = thawgate(org, "grants", "list", "--by", "audra", "--status", "active")
    assert listed.code == 0, listed.stderr
    assert gid in listed.stdout
    assert listed.stdout.strip().endswith("1 grants")

    revoked = thawgate(org, "grants", "revoke", gid, "--by", "ada", "--comment", "moved teams")
    assert revoked.code == 0, revoked.stderr
    assert "fraud_reviewer" not in caller(org, "newbie").roles
    events = "SELECT count(*) FROM audit_events WHERE action LIKE 'grant:%'"
    assert count_rows(org, events) == 3  # proposed, approved, revoked


def test_cli_refusals_are_one_line_and_audited(org: App) -> None:
    not_admin = thawgate(
        org, "grants", "propose", "newbie", "auditor", "--by", "fay", "--justification", "x"
    )
    assert not_admin.code == 4
    assert "propose_grant refused" in not_admin.error_line()
    assert count_rows(org, "SELECT count(*) FROM audit_events WHERE actor = 'fay'") == 1

    assert thawgate(org, "grants", "list", "--by", "nobody-here").code == 3
    bad_when = thawgate(
        org, "grants", "propose", "newbie", "auditor", "--by", "ada",
        "--justification", "x", "--expires", "tomorrow",
    )  # fmt: skip
    assert bad_when.code == 2
    assert "expires" in bad_when.error_line()
    too_long = thawgate(
        org, "grants", "propose", "newbie", "fraud_reviewer", "--by", "ada",
        "--justification", "x", "--expires", "120d",
    )  # fmt: skip
    assert "90 days" in too_long.error_line()


def test_suspension_from_the_cli_stops_the_principal(org: App) -> None:
    done = thawgate(org, "grants", "suspend", "fay", "--by", "ada", "--comment", "left")
    assert done.code == 0, done.stderr
    again = thawgate(org, "grants", "list", "--by", "fay")
    assert again.code == 4
    assert "suspended" in again.error_line()


def test_policy_lifecycle_from_the_cli(org: App, tmp_path: Path) -> None:
    document = org.env.policy.document.replace("name: default-2026.11", "name: cli-version")
    pack = tmp_path / "pack.yaml"
    pack.write_text(document)
    uploaded = thawgate(org, "policy", "upload", str(pack), "--by", "pia")
    assert uploaded.code == 0, uploaded.stderr
    version, status = uploaded.stdout.split("\t")[:2]
    assert version.startswith("cli-version+")
    assert status == "draft"

    backtest = thawgate(org, "policy", "backtest", version, "--by", "pol")
    assert backtest.code == 0, backtest.stderr
    assert "0 outcomes change" in backtest.stdout

    own = thawgate(org, "policy", "activate", version, "--by", "pia")
    assert own.code == 4
    assert "second policy admin" in own.error_line()

    activated = thawgate(org, "policy", "activate", version, "--by", "pol")
    assert activated.code == 0, activated.stderr
    listed = thawgate(org, "policy", "list")
    lines = {line.split("\t")[0]: line.split("\t")[1] for line in listed.stdout.splitlines()}
    assert lines[version] == "active"
    assert sorted(lines.values()) == ["active", "retired"]

    bad = tmp_path / "bad.yaml"
    bad.write_text(document.replace("\nrules:\n", "\nrules:\n  - {id: oops, when: '1 +'}\n", 1))
    refused = thawgate(org, "policy", "upload", str(bad), "--by", "pia")
    assert refused.code == 6
    assert "oops" in refused.error_line()


def test_policy_check_still_works(org: App) -> None:
    checked = thawgate(org, "policy", "check")
    assert checked.code == 0, checked.stderr
    assert "every policy test passes" in checked.stdout


def test_jobs_retry_acts_as_the_principal_the_api_would_see(org: App) -> None:
    """`jobs retry --by` loads the principal as every other `--by` does: unknown is not found
    (exit 3), suspended is refused (exit 4), before the request is even looked up."""
    unknown = thawgate(org, "jobs", "retry", "req_none", "--by", "nobody-here")
    assert unknown.code == 3
    assert "no principal nobody-here" in unknown.error_line()

    assert thawgate(org, "grants", "suspend", "sam", "--by", "ada", "--comment", "left").code == 0
    suspended = thawgate(org, "jobs", "retry", "req_none", "--by", "sam")
    assert suspended.code == 4
    assert "suspended" in suspended.error_line()
