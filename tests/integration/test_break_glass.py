"""Break-glass (POLICY.md floor item 10): who, on what, how often, and its after-the-fact review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.integration.authority_support import caller, load_admins
from tests.integration.cli_support import thawgate
from tests.integration.conftest import Clock, count_rows, t
from tests.integration.helpers import approve, drain, status, submit

from thawgate.bootstrap import App
from thawgate.domain.errors import (
    Conflict,
    Forbidden,
    SeparationOfDuties,
    ValidationFailed,
)
from thawgate.domain.request import Evidence
from thawgate.entrypoints.api.app import create_app
from thawgate.services import alerts, break_glass, identity, loader, policy_admin, review

WHY = "pager outage: customer locked out during a verified incident call"


@pytest.fixture
def org(loaded: App, clock: Clock) -> App:
    load_admins(loaded)
    loader.load_world(
        loaded.uow(),
        loaded.env,
        {
            "principals": [
                {"id": "sid", "team": "fraud_risk", "roles": ["senior_fraud_reviewer"]},
                {"id": "sec-sam", "team": "security", "roles": ["fraud_reviewer"]},
                {
                    "id": "sara",
                    "team": "fraud_risk",
                    "roles": ["senior_fraud_reviewer", "restriction_placer"],
                },
            ],
            "accounts": [_account(clock, f"BG{n}", placed_by="sec-bot") for n in range(4)]
            + [_account(clock, "BGS", placed_by="sara")],
        },
    )
    return loaded


def _account(clock: Clock, aid: str, *, placed_by: str) -> dict[str, object]:
    return {
        "id": aid,
        "created_at": t(clock, days=400),
        "restrictions": [
            {
                "id": f"r-{aid}",
                "scope": "withdraw",
                "reason": "ATO_SUSPECTED",
                "placed_by": placed_by,
                "placed_at": t(clock, days=5),
            }
        ],
        "events": [
            {
                "type": "login",
                "at": t(clock, days=d),
                "ip": f"203.0.113.{100 + sum(map(ord, aid)) % 150}",
                "country": "DE",
                "device": f"d-{aid}",
            }
            for d in (300, 100, 30, 2)
        ],
    }


def _break(app: App, who: str, request_id: str, why: str = WHY) -> break_glass.BreakGlass:
    _, record = break_glass.break_glass(
        app.uow(), app.env, actor=caller(app, who), request_id=request_id, justification=why
    )
    return record


def test_a_senior_fills_the_missing_fraud_clause_alerts_and_opens_a_review(org: App) -> None:
    r = submit(org, "alice", "BG0", ["r-BG0"])
    assert r.status == "pending_approval"
    assert [c.role for c in r.decision.required_approvals] == ["fraud_reviewer"], r.decision.risk
    record = _break(org, "sam", r.id)
    assert (record.clause, record.review_status) == ("fraud_reviewer", "open")
    assert status(org, r.id) == "approved"
    with org.uow(readonly=True) as uow:
        stored = uow.requests.get(r.id)
    assert stored is not None
    assert [(a.principal, a.break_glass) for a in stored.approvals] == [("sam", True)]

    listed = alerts.list_alerts(org.uow(), org.env, actor=caller(org, "audra"), limit=10)
    assert [(a.kind, a.severity, a.request_id) for a in listed] == [
        ("break_glass", "critical", r.id)
    ]
    assert listed[0].data["justification"] == WHY
    assert [(o.id, o.request_id, o.principal) for o in break_glass.open_break_glass_reviews(
        org.uow()
    )] == [(record.id, r.id, "sam")]  # fmt: skip
    assert count_rows(org, "SELECT count(*) FROM audit_events WHERE action = 'request:break-glass'")
    drain(org)
    assert status(org, r.id) == "executed"


def test_the_review_is_by_a_second_senior_and_stays_open_until_done(org: App) -> None:
    r = submit(org, "alice", "BG0", ["r-BG0"])
    record = _break(org, "sam", r.id)
    with pytest.raises(SeparationOfDuties, match="second senior"):
        break_glass.review_use(
            org.uow(),
            org.env,
            actor=caller(org, "sam"),
            break_glass_id=record.id,
            verdict="upheld",
            comment="mine",
        )
    with pytest.raises(Forbidden):
        break_glass.review_use(
            org.uow(),
            org.env,
            actor=caller(org, "fay"),
            break_glass_id=record.id,
            verdict="upheld",
            comment="not senior",
        )
    assert len(break_glass.open_break_glass_reviews(org.uow())) == 1
    done = break_glass.review_use(
        org.uow(),
        org.env,
        actor=caller(org, "sid"),
        break_glass_id=record.id,
        verdict="misuse",
        comment="no incident on record",
    )
    assert (done.review_status, done.reviewed_by, done.verdict) == ("done", "sid", "misuse")
    assert break_glass.open_break_glass_reviews(org.uow()) == []
    kinds = [
        a.kind for a in alerts.list_alerts(org.uow(), org.env, actor=caller(org, "sid"), limit=9)
    ]
    assert sorted(kinds) == ["break_glass", "break_glass_misuse"]
    with pytest.raises(Conflict):
        break_glass.review_use(
            org.uow(),
            org.env,
            actor=caller(org, "sid"),
            break_glass_id=record.id,
            verdict="upheld",
            comment="again",
        )


def test_only_a_senior_with_a_reason_and_never_on_a_legal_hold(org: App) -> None:
    r = submit(org, "alice", "BG0", ["r-BG0"])
    with pytest.raises(Forbidden):
        _break(org, "fay", r.id)
    with pytest.raises(ValidationFailed, match="justification"):
        _break(org, "sam", r.id, why="urgent")
    law = submit(
        org,
        "lena",
        "A2",
        ["r-law"],
        evidence=[Evidence("LE_RELEASE_ORDER", "le-1", org.env.clock() - timedelta(hours=1))],
    )
    assert law.status == "pending_approval"
    with pytest.raises(Forbidden, match="break_glass refused"):
        _break(org, "sam", law.id)
    assert status(org, law.id) == "pending_approval"
    refusals = "SELECT count(*) FROM audit_events WHERE action LIKE 'refused:%'"
    assert count_rows(org, refusals) == 2  # fay, and the legal hold (a bad text is a 422)
    assert break_glass.open_break_glass_reviews(org.uow()) == []


def test_floor_items_1_to_3_still_hold(org: App) -> None:
    placed = submit(org, "alice", "BGS", ["r-BGS"])
    with pytest.raises(SeparationOfDuties) as exc:
        _break(org, "sara", placed.id)  # she placed the restriction (item 2)
    assert exc.value.floor_item == 2
    loader.load_world(
        org.uow(),
        org.env,
        {"principals": [{"id": "sue", "team": "fraud_risk",
                         "roles": ["requester", "senior_fraud_reviewer"]}]},
    )  # fmt: skip
    own = submit(org, "sue", "BG1", ["r-BG1"])
    assert own.status == "pending_approval"
    with pytest.raises(Forbidden, match="break-glass-never-own-request"):  # item 1, in Cedar
        _break(org, "sue", own.id)
    assert status(org, placed.id) == "pending_approval"


def test_at_most_n_a_day_per_person(org: App, clock: Clock) -> None:
    assert org.env.policy.break_glass_per_day == 2
    ids = [submit(org, "alice", f"BG{n}", [f"r-BG{n}"]).id for n in range(3)]
    _break(org, "sam", ids[0])
    _break(org, "sam", ids[1])
    with pytest.raises(Forbidden, match="limit"):
        _break(org, "sam", ids[2])
    assert status(org, ids[2]) == "pending_approval"
    _break(org, "sid", ids[2])  # the limit is per person
    other = submit(org, "alice", "BG3", ["r-BG3"]).id
    clock.advance(hours=24, seconds=1)
    _break(org, "sam", other)  # a rolling 24 hours
    assert count_rows(org, "SELECT count(*) FROM break_glass WHERE principal = 'sam'") == 3


def test_it_stands_in_for_a_missing_second_team_and_nothing_more(org: App) -> None:
    """A pack asking for two fraud reviewers from two teams: at night only fraud_risk is
    reachable. A second fraud_risk reviewer is refused (item 4); a senior's break-glass fills
    the clause. One person still fills one clause (item 3)."""
    document = org.env.policy.document.replace("name: default-2026.11", "name: two-teams")
    document = document.replace(
        "    message: a takeover freeze needs a fresh liveness check and a fraud reviewer\n"
        "    evidence:\n"
        "      - {type: KYC_LIVENESS_PASS, max_age_hours: 72}\n"
        "    approvals:\n"
        "      - {role: fraud_reviewer, count: 1}\n",
        "    message: a takeover freeze needs liveness and two fraud reviewers from two teams\n"
        "    evidence:\n"
        "      - {type: KYC_LIVENESS_PASS, max_age_hours: 72}\n"
        "    approvals:\n"
        "      - {role: fraud_reviewer, count: 2}\n"
        "    min_teams: 2\n",
    )
    draft = policy_admin.upload(org.uow(), org.env, actor=caller(org, "pia"), document=document)
    policy_admin.approve(org.uow(), org.env, actor=caller(org, "pol"), version=draft.version,
                         comment="ok")  # fmt: skip
    r = submit(org, "alice", "BG0", ["r-BG0"])
    assert [(c.role, c.count) for c in r.decision.required_approvals] == [("fraud_reviewer", 2)]
    approve(org, "fay", r.id)
    with pytest.raises(SeparationOfDuties) as exc:
        approve(org, "finn", r.id)
    assert exc.value.floor_item == 4
    with pytest.raises(SeparationOfDuties) as again:
        review.approve(
            org.uow(), org.env, actor=caller(org, "fay"), request_id=r.id, comment="twice"
        )
    assert again.value.floor_item == 3
    _break(org, "sam", r.id)
    assert status(org, r.id) == "approved"


def test_break_glass_over_http_and_the_cli(org: App) -> None:
    client = TestClient(create_app(org))

    def bearer(pid: str) -> dict[str, str]:
        token = identity.issue_token(org.uow(), org.env, principal_id=pid, ttl=timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}

    r = submit(org, "alice", "BG0", ["r-BG0"])
    short = client.post(f"/v1/requests/{r.id}/break-glass", json={"justification": "x"},
                        headers=bearer("sam"))  # fmt: skip
    assert short.status_code == 422
    used = client.post(
        f"/v1/requests/{r.id}/break-glass", json={"justification": WHY}, headers=bearer("sam")
    )
    assert used.status_code == 201, used.json()
    assert used.json()["request_status"] == "approved"
    shown = client.get(f"/v1/requests/{r.id}", headers=bearer("fay")).json()
    assert [(a["principal"], a.get("break_glass")) for a in shown["approvals"]] == [("sam", True)]
    listed = client.get("/v1/break-glass?open=true", headers=bearer("audra"))
    assert [b["id"] for b in listed.json()["items"]] == [used.json()["id"]]
    denied = client.get("/v1/break-glass", headers=bearer("alice"))
    assert denied.status_code == 403
    reviewed = client.post(
        f"/v1/break-glass/{used.json()['id']}/review",
        json={"verdict": "upheld", "comment": "incident INC-7 confirms it"},
        headers=bearer("sid"),
    )
    assert reviewed.status_code == 200, reviewed.json()
    assert client.get("/v1/break-glass?open=true", headers=bearer("audra")).json()["items"] == []

    r2 = submit(org, "alice", "BG1", ["r-BG1"])
    cli = thawgate(org, "break-glass", "use", r2.id, "--by", "sid", "--justification", WHY)
    assert cli.code == 0, cli.stderr
    assert cli.stdout.strip().endswith("request=approved")
    bg_id = cli.stdout.split("\t")[0]
    own = thawgate(org, "break-glass", "review", bg_id, "--by", "sid", "--verdict", "upheld",
                   "--comment", "mine")  # fmt: skip
    assert own.code == 4
    assert "second senior" in own.error_line()
    listed_cli = thawgate(org, "break-glass", "list", "--by", "sam", "--open")
    assert bg_id in listed_cli.stdout
    assert listed_cli.stdout.strip().endswith("1 break-glass uses awaiting review")


def test_concurrent_uses_never_pass_the_daily_limit_together(org: App) -> None:
    """Two uses by one senior at the same moment, with one left for the day: exactly one lands
    (on PostgreSQL the principal's row is locked while counting)."""
    import threading

    org.env.policy.break_glass_per_day = 1
    ids = [submit(org, "alice", f"BG{n}", [f"r-BG{n}"]).id for n in range(2)]
    sam = caller(org, "sam")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def use(request_id: str) -> None:
        barrier.wait()
        try:
            break_glass.break_glass(
                org.uow(), org.env, actor=sam, request_id=request_id, justification=WHY
            )
            outcomes.append("used")
        except Forbidden:
            outcomes.append("refused")

    threads = [threading.Thread(target=use, args=(rid,)) for rid in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert sorted(outcomes) == ["refused", "used"]
    assert count_rows(org, "SELECT count(*) FROM break_glass") == 1
