"""Post-thaw monitoring over real HTTP: the exchange streams events after an executed thaw, the
account is re-frozen, an alert is raised, and the bad thaw is counted (API and CLI)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from .conftest import THAWGATE, iso

if TYPE_CHECKING:
    from .conftest import Gate

pytestmark = pytest.mark.e2e


def test_a_withdrawal_to_a_fresh_address_after_a_thaw_refreezes(
    gate: Gate, database_url: str
) -> None:
    body = gate.thaw("watch-1", "r-watch-1", proof=[gate.evidence("KYC_LIVENESS_PASS")])
    req = gate.submitted("alice", body)
    assert gate.approve("fay", req).status_code == 201
    gate.wait_for(req["id"], "executed")

    now = datetime.now(UTC)
    events = [
        {"type": "withdrawal_address_added", "at": iso(now), "address": "bc1-fresh"},
        {
            "type": "withdrawal",
            "at": iso(now + timedelta(seconds=30)),
            "address": "bc1-fresh",
            "amount_usd": "18000",
        },
    ]
    resp = gate("events").post("/v1/accounts/watch-1/events", json=events)
    assert resp.status_code == 202, resp.text

    refreeze = gate.restriction("watch-1", f"{req['id']}-monitor")
    assert (refreeze["scope"], refreeze["reason"], refreeze["status"]) == (
        "full",
        "ATO_SUSPECTED",
        "active",
    )
    assert refreeze["placed_by"] == "system"

    alerts = gate("sam").get("/v1/alerts", params={"limit": 500}).json()["items"]
    mine = [a for a in alerts if a["request_id"] == req["id"]]
    assert [(a["kind"], a["data"]["rule"]) for a in mine] == [
        ("post-thaw-monitoring", "withdrawal-to-fresh-address")
    ]

    counts = gate("audra").get("/v1/monitoring/bad-thaws").json()
    assert {"principal": "alice", "bad_thaws": 1} in counts["per_requester"]
    assert {"principal": "fay", "bad_thaws": 1} in counts["per_approver"]
    assert {"rule": "withdrawal-to-fresh-address", "hits": 1} in counts["per_rule"]
    later = gate("audra").get(
        "/v1/monitoring/bad-thaws", params={"since": iso(now + timedelta(hours=1))}
    )
    assert later.json()["bad_thaws"] == 0
    gate.problem(gate("alice").get("/v1/monitoring/bad-thaws"), 403, "forbidden")
    gate.problem(
        gate("audra").get("/v1/monitoring/bad-thaws", params={"since": "yesterday"}),
        422,
        "validation",
    )

    cli = subprocess.run(  # noqa: S603  # our own CLI with fixed arguments
        [str(THAWGATE), "risk", "bad-thaws", "--json"],
        env={**os.environ, "THAWGATE_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert {"rule": "withdrawal-to-fresh-address", "hits": 1} in printed["per_rule"]
    assert {"principal": "alice", "bad_thaws": 1} in printed["per_requester"]


def test_events_of_an_account_with_no_thaw_change_nothing(gate: Gate) -> None:
    now = datetime.now(UTC)
    before = gate.account("watch-2")
    events = [
        {"type": "withdrawal_address_added", "at": iso(now), "address": "bc1-w2"},
        {"type": "withdrawal", "at": iso(now), "address": "bc1-w2", "amount_usd": "5"},
    ]
    resp = gate("events").post("/v1/accounts/watch-2/events", json=events)
    assert resp.status_code == 202, resp.text
    assert gate.account("watch-2") == before


def test_the_cli_refuses_a_bad_since_in_one_line(database_url: str) -> None:
    cli = subprocess.run(  # noqa: S603  # our own CLI with fixed arguments
        [str(THAWGATE), "risk", "bad-thaws", "--since", "last tuesday"],
        env={**os.environ, "THAWGATE_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip().count("\n") == 0
    assert "--since" in cli.stderr
