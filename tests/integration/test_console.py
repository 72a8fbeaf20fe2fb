"""The console's services on a real database: queue filters, claims, take next, the login
throttle, what the detail page offers, the dashboard and the audit page's proofs."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.integration.audit_support import sign, with_audit_key
from tests.integration.conftest import ON_POSTGRES, Clock, count_rows
from tests.integration.helpers import approve, drain, liveness, submit, who

from thawgate.adapters.db.console_repo import QueueFilter
from thawgate.bootstrap import App
from thawgate.domain.errors import (
    Conflict,
    Forbidden,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)
from thawgate.domain.model import Principal
from thawgate.domain.request import Evidence
from thawgate.services import (
    console,
    console_reports,
    console_session,
    identity,
    loader,
    review,
)


def page(app: App, actor: str, **filters: object) -> console.QueuePage:
    sort = str(filters.pop("sort", "oldest"))
    size = int(filters.pop("size", 50))  # type: ignore[call-overload]
    number = int(filters.pop("page", 1))  # type: ignore[call-overload]
    return console.queue_page(
        app.uow(readonly=True),
        app.env,
        actor=who(app, actor),
        filters=QueueFilter(**filters),  # type: ignore[arg-type]
        sort=sort,
        page=number,
        page_size=size,
    )


def ids(p: console.QueuePage) -> set[str]:
    return {row.id for row in p.rows}


@pytest.fixture
def three(loaded: App, clock: Clock) -> dict[str, str]:
    """Two thaws and an unbind by alice, and a legal-hold thaw by lena."""
    thaw_a1 = submit(loaded, "alice", "A1", ["r-ato"])
    clock.advance(minutes=5)
    unbind_a1 = submit(loaded, "alice", "A1", ["b-totp"], kind="unbind")
    clock.advance(minutes=5)
    thaw_a3 = submit(loaded, "alice", "A3", ["r-ato3"])
    clock.advance(minutes=5)
    legal = submit(
        loaded, "lena", "A2", ["r-law"], [Evidence("LE_RELEASE_ORDER", "le-1", clock.now)]
    )
    return {"thaw_a1": thaw_a1.id, "unbind": unbind_a1.id, "thaw_a3": thaw_a3.id, "legal": legal.id}


def test_queue_filters_counts_sorting_and_pages(loaded: App, three: dict[str, str]) -> None:
    everything = page(loaded, "fay", statuses=())
    assert ids(everything) == set(three.values())
    assert everything.total == 4
    assert ids(page(loaded, "fay", statuses=(), kind="unbind")) == {three["unbind"]}
    assert ids(page(loaded, "fay", statuses=(), reason="ATO_SUSPECTED")) == {
        three["thaw_a1"],
        three["thaw_a3"],
    }
    assert ids(page(loaded, "fay", statuses=(), reason="LAW_ENFORCEMENT")) == {three["legal"]}
    assert ids(page(loaded, "fay", statuses=(), reason="TOTP")) == {three["unbind"]}
    assert ids(page(loaded, "fay", statuses=(), team="legal")) == {three["legal"]}
    assert page(loaded, "fay", statuses=(), team="security").total == 0

    oldest = page(loaded, "fay", statuses=(), size=3)
    assert [r.id for r in oldest.rows] == [three["thaw_a1"], three["unbind"], three["thaw_a3"]]
    assert oldest.pages == 2
    second = page(loaded, "fay", statuses=(), size=3, page=2)
    assert [r.id for r in second.rows] == [three["legal"]]
    newest = page(loaded, "fay", statuses=(), sort="newest", size=1)
    assert [r.id for r in newest.rows] == [three["legal"]]

    by_status = page(loaded, "fay", statuses=("pending_approval",))
    assert by_status.counts.get("pending_approval", 0) == by_status.total
    assert sum(by_status.counts.values()) == 4
    risky = page(loaded, "fay", statuses=(), sort="risk")
    scores = [r.risk_score for r in risky.rows]
    assert scores == sorted(scores, reverse=True)
    low, high = console.band_range("low") or (0, 0)
    assert {r.id for r in risky.rows if low <= r.risk_score <= high} == ids(
        page(loaded, "fay", statuses=(), min_score=low, max_score=high)
    )


def test_filed_before_is_the_age_filter(loaded: App, clock: Clock, three: dict[str, str]) -> None:
    cutoff = clock.now - timedelta(minutes=8)  # filed 15 and 10 minutes ago: older than 8
    older = page(loaded, "fay", statuses=(), filed_before=cutoff)
    assert ids(older) == {three["thaw_a1"], three["unbind"]}


def test_a_requester_sees_only_their_own_requests(loaded: App, three: dict[str, str]) -> None:
    assert three["legal"] not in ids(page(loaded, "alice", statuses=()))
    assert ids(page(loaded, "alice", statuses=())) == {
        three["thaw_a1"],
        three["unbind"],
        three["thaw_a3"],
    }


def test_claims_keep_two_reviewers_apart(loaded: App, clock: Clock, three: dict[str, str]) -> None:
    rid = three["thaw_a1"]
    fay, finn = who(loaded, "fay"), who(loaded, "finn")
    console.claim(loaded.uow(), loaded.env, actor=fay, request_id=rid)
    with pytest.raises(Conflict, match="fay is working this request"):
        console.claim(loaded.uow(), loaded.env, actor=finn, request_id=rid)
    console.claim(loaded.uow(), loaded.env, actor=fay, request_id=rid)  # renewing is fine
    with pytest.raises(Conflict):
        console.release(loaded.uow(), loaded.env, actor=finn, request_id=rid)
    clock.advance(minutes=31)  # the claim lapsed
    console.claim(loaded.uow(), loaded.env, actor=finn, request_id=rid)
    row = next(r for r in page(loaded, "fay", statuses=()).rows if r.id == rid)
    assert row.claimed_by == "finn"
    console.release(loaded.uow(), loaded.env, actor=finn, request_id=rid)
    with pytest.raises(Forbidden):  # a requester works no queue
        console.claim(loaded.uow(), loaded.env, actor=who(loaded, "alice"), request_id=rid)
    taken = "SELECT count(*) FROM audit_events WHERE action = 'request:claim:taken'"
    assert count_rows(loaded, taken) == 3
    released = "SELECT count(*) FROM audit_events WHERE action = 'request:claim:released'"
    assert count_rows(loaded, released) == 1


def test_take_next_skips_a_requester_the_reviewer_approved_often(loaded: App, clock: Clock) -> None:
    for account, target in (("A1", "r-ato"), ("A3", "r-ato3"), ("A3", "r-ato3b")):
        r = submit(loaded, "alice", account, [target])
        approve(loaded, "fay", r.id, r.state_digest)
        clock.advance(minutes=1)
    drain(loaded)
    waiting = submit(loaded, "alice", "A1", ["b-totp"], kind="unbind")
    assert waiting.status == "pending_approval", waiting.decision
    fay, finn = who(loaded, "fay"), who(loaded, "finn")
    # fay approved alice three times this week: she is never handed alice's request.
    assert console.take_next(loaded.uow(), loaded.env, actor=fay) is None
    assert console.take_next(loaded.uow(), loaded.env, actor=finn) == waiting.id
    with pytest.raises(Conflict):  # and finn now holds it
        console.claim(loaded.uow(), loaded.env, actor=fay, request_id=waiting.id)
    clock.advance(days=8)  # a week later the pair is no longer "often"
    clock.advance(minutes=31)
    assert console.take_next(loaded.uow(), loaded.env, actor=fay) in (None, waiting.id)


def test_take_next_never_offers_what_the_reviewer_cannot_approve(
    loaded: App, three: dict[str, str]
) -> None:
    lena = who(loaded, "lena")  # a legal reviewer: only the legal hold has a clause for her
    got = console.take_next(loaded.uow(), loaded.env, actor=lena)
    assert got is None  # and that one she filed herself


def test_take_next_finds_the_one_request_the_reviewer_can_approve_in_a_full_queue(
    loaded: App, clock: Clock
) -> None:
    """200 takeover thaws a legal reviewer has no clause on, and one legal hold she has: "take
    next" hands her the legal hold, however the random order falls."""
    placed = (clock.now - timedelta(days=2)).isoformat()
    loader.load_world(loaded.uow(), loaded.env, {
        "principals": [{"id": "leo", "team": "legal", "roles": ["requester"]}],
        "accounts": [
            {"id": f"Q{i}", "created_at": (clock.now - timedelta(days=400)).isoformat(),
             "restrictions": [{"id": f"r-q{i}", "scope": "withdraw", "reason": "ATO_SUSPECTED",
                               "placed_by": "system", "placed_at": placed}]}
            for i in range(200)
        ],
    })  # fmt: skip
    for i in range(200):
        assert submit(loaded, "alice", f"Q{i}", [f"r-q{i}"]).status == "pending_approval"
    order = Evidence("LE_RELEASE_ORDER", "le-7", clock.now)
    legal = submit(loaded, "leo", "A2", ["r-law"], [order])
    assert legal.status == "pending_approval", legal.decision

    assert console.take_next(loaded.uow(), loaded.env, actor=who(loaded, "lena")) == legal.id


def test_the_detail_page_says_who_may_approve(loaded: App, three: dict[str, str]) -> None:
    def view(actor: str) -> console.RequestView:
        return console.request_view(
            loaded.uow(readonly=True), loaded.env, actor=who(loaded, actor), request_id=rid
        )

    rid = three["thaw_a1"]
    assert view("fay").approve_blocker is None
    assert view("fay").may_review
    blocked = view("alice").approve_blocker
    assert blocked is not None
    assert "requester never approves" in blocked
    assert not view("alice").may_review
    lena = view("lena").approve_blocker
    assert lena is not None
    assert "fit no open approval clause" in lena
    v = view("fay")
    assert v.targets == {"r-ato"}
    assert [e.type for e in v.events] == ["login"]  # the 2-day-old login; older ones are past 30 d
    assert [h.action for h in v.history] == ["request:submitted"]


def test_login_throttle_and_sessions(loaded: App, clock: Clock) -> None:
    identity.set_password(
        loaded.uow(), loaded.env, principal_id="fay", password="a long password here"
    )

    def attempt(password: str, client: str = "10.0.0.1") -> str:
        _, token = console_session.login(
            loaded.uow(),
            loaded.env,
            username="fay",
            password=password,
            client=client,
            ttl=timedelta(hours=8),
        )
        return token

    token = attempt("a long password here")
    assert identity.authenticate(loaded.uow(), loaded.env, token).id == "fay"
    console_session.logout(loaded.uow(), loaded.env, principal=who(loaded, "fay"), token=token)
    with pytest.raises(Unauthenticated):
        identity.authenticate(loaded.uow(), loaded.env, token)

    for _ in range(console_session.USER_LIMIT):
        with pytest.raises(Unauthenticated):
            attempt("guess", client=f"10.0.0.{_ + 2}")
    with pytest.raises(TooManyAttempts):  # even the right password, from anywhere
        attempt("a long password here", client="10.9.9.9")
    clock.advance(minutes=16)
    assert attempt("a long password here")
    failed = "SELECT count(*) FROM audit_events WHERE action = 'principal:login:failed'"
    assert count_rows(loaded, failed) == console_session.USER_LIMIT
    throttled = "SELECT count(*) FROM audit_events WHERE action = 'principal:login:throttled'"
    assert count_rows(loaded, throttled) == 1


def test_the_dashboard_counts_what_happened(loaded: App, clock: Clock) -> None:
    done = submit(loaded, "alice", "A1", ["r-ato"])
    clock.advance(hours=2)
    approve(loaded, "fay", done.id, done.state_digest)
    drain(loaded)
    rejected = submit(loaded, "alice", "A3", ["r-ato3"], [liveness(loaded)])
    review.reject(
        loaded.uow(), loaded.env, actor=who(loaded, "finn"), request_id=rejected.id, comment="no"
    )
    submit(loaded, "alice", "A3", ["r-ato3b"])
    d = console_reports.dashboard(loaded.uow(readonly=True), loaded.env, actor=who(loaded, "fay"))
    assert sum(d.per_day["executed"]) == 1
    assert sum(d.per_day["rejected"]) == 1
    assert sum(d.per_day["open"]) == 1
    assert d.per_team == {"customer_support": {"executed": 1, "rejected": 1, "open": 1}}
    assert dict(d.decision_buckets)["1-4 h"] == 1  # approved two hours after filing
    assert dict(d.decision_buckets)["<1 h"] == 1
    with pytest.raises(Forbidden):
        console_reports.dashboard(loaded.uow(readonly=True), loaded.env, actor=who(loaded, "alice"))


def test_the_audit_page_proves_an_event_against_the_signed_root(
    loaded: App, tmp_path: Path
) -> None:
    app = with_audit_key(loaded, tmp_path)
    submit(app, "alice", "A1", ["r-ato"])
    checkpoint = sign(app)
    assert checkpoint is not None
    fay = who(app, "fay")
    audit_page = console_reports.audit_page(
        app.uow(readonly=True),
        app.env,
        actor=fay,
        who="alice",
        subject=None,
        action=None,
        before_seq=None,
    )
    assert audit_page.events
    assert {e.actor for e in audit_page.events} == {"alice"}
    seq = audit_page.events[0].seq
    proof = console_reports.checked_inclusion(app.uow(readonly=True), app.env, actor=fay, seq=seq)
    assert proof.verified
    assert proof.root == checkpoint.root_hash
    submit(app, "alice", "A3", ["r-ato3"])  # not yet under a checkpoint
    newest = console_reports.audit_page(
        app.uow(readonly=True),
        app.env,
        actor=fay,
        who=None,
        subject=None,
        action=None,
        before_seq=None,
    )
    with pytest.raises(ValidationFailed, match="newer than the latest checkpoint"):
        console_reports.checked_inclusion(
            app.uow(readonly=True), app.env, actor=fay, seq=newest.events[0].seq
        )


def test_the_dashboard_shows_bad_thaws(loaded: App, clock: Clock) -> None:
    from tests.integration.test_monitoring import event, ingest, thaw

    rid = thaw(loaded)  # alice's thaw of A1, approved by fay, executed
    clock.advance(hours=5)
    ingest(
        loaded,
        "A1",
        event("withdrawal_address_added", clock.now - timedelta(minutes=30), address="bc1-x"),
        event("withdrawal", clock.now, address="bc1-x", amount_usd="25000"),
    )
    d = console_reports.dashboard(loaded.uow(readonly=True), loaded.env, actor=who(loaded, "finn"))
    assert d.bad_thaws is not None
    assert d.bad_thaws.per_rule == [("withdrawal-to-fresh-address", 1)]
    assert d.bad_thaws.per_requester == [("alice", 1)]
    assert d.bad_thaws.per_approver == [("fay", 1)]
    assert d.alerts is None  # a fraud reviewer may not read alerts (read_alerts), nor here
    senior = console_reports.dashboard(
        loaded.uow(readonly=True), loaded.env, actor=who(loaded, "sam")
    )
    assert senior.alerts is not None
    assert any(a.request_id == rid for a in senior.alerts)


def test_need_to_know_on_the_console(loaded: App, three: dict[str, str]) -> None:
    """A security-team placer may read requests but not why a legal hold was placed."""
    from fastapi.testclient import TestClient

    from thawgate.entrypoints.api.app import create_app

    placer = who(loaded, "placer")
    view = console.request_view(
        loaded.uow(readonly=True), loaded.env, actor=placer, request_id=three["legal"]
    )
    assert view.hidden_owners == ["legal"]
    assert (
        console.request_view(
            loaded.uow(readonly=True),
            loaded.env,
            actor=who(loaded, "fay"),
            request_id=three["legal"],
        ).hidden_owners
        == []
    )  # fraud_risk is cleared
    assert not console.visible_code(placer, "LAW_ENFORCEMENT")
    assert console.visible_code(placer, "ATO_SUSPECTED")
    assert console.visible_code(placer, "TOTP")
    # Filtering by a hidden reason is ignored rather than answered.
    assert page(loaded, "placer", statuses=(), reason="LAW_ENFORCEMENT").total == 4

    identity.set_password(
        loaded.uow(), loaded.env, principal_id="placer", password="placer password 1"
    )
    with TestClient(create_app(loaded)) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post(
            "/login",
            data={
                "username": "placer",
                "password": "placer password 1",
                "csrf_token": token.group(1),
            },
        )
        detail = client.get(f"/requests/{three['legal']}").text
        queue = client.get("/queue?status=").text
    assert "RESTRICTED (owning team: legal)" in detail
    for secret in ("LAW_ENFORCEMENT", "legal-hold", "LE_RELEASE_ORDER"):
        assert secret not in detail, secret
        assert secret not in queue, secret
    assert "ATO_SUSPECTED" in queue


def test_need_to_know_hides_the_review_comments_that_are_status_reasons(
    loaded: App, three: dict[str, str]
) -> None:
    """A question or a rejection becomes the request's status reason, which the API shows a
    reader outside legal, compliance, fraud_risk and audit as RESTRICTED: the console's history
    must not print it either."""
    from fastapi.testclient import TestClient

    from thawgate.entrypoints.api.app import create_app

    secret = "the court order LH-4711 still binds this account"
    review.question(
        loaded.uow(),
        loaded.env,
        actor=who(loaded, "sam"),
        request_id=three["legal"],
        comment=secret,
    )
    identity.set_password(
        loaded.uow(), loaded.env, principal_id="placer", password="placer password 1"
    )
    token = identity.issue_token(
        loaded.uow(), loaded.env, principal_id="placer", ttl=timedelta(hours=1)
    )
    with TestClient(create_app(loaded)) as client:
        api = client.get(
            f"/v1/requests/{three['legal']}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert secret not in str(api)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert csrf
        client.post(
            "/login",
            data={"username": "placer", "password": "placer password 1", "csrf_token": csrf[1]},
        )
        detail = client.get(f"/requests/{three['legal']}")
    assert detail.status_code == 200
    assert "request:question" in detail.text  # the event is listed
    assert secret not in detail.text


def _console_login(app: App, pid: str) -> tuple[object, str]:
    from fastapi.testclient import TestClient

    from thawgate.entrypoints.api.app import create_app

    identity.set_password(app.uow(), app.env, principal_id=pid, password="console password 1")
    client = TestClient(create_app(app), raise_server_exceptions=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post(
        "/login",
        data={"username": pid, "password": "console password 1", "csrf_token": token[1]},
    )
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/requests/new").text)
    assert found
    return client, found[1]


@pytest.mark.parametrize("hours", ["2161", "99999999999999999999999"])
def test_the_new_request_form_holds_the_apis_duration_limit(loaded: App, hours: str) -> None:
    """A thaw's duration is 1 to 2160 hours (90 days) on the API; the form may not go beyond,
    and a huge number is a form error, not a server error."""
    from fastapi.testclient import TestClient

    client, csrf = _console_login(loaded, "alice")
    assert isinstance(client, TestClient)
    before = count_rows(loaded, "SELECT count(*) FROM requests")
    sent = client.post(
        "/requests/new",
        data={
            "csrf_token": csrf,
            "kind": "thaw",
            "account_id": "A1",
            "targets": "r-ato",
            "justification": "verified on a call",
            "duration_hours": hours,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 422
    assert "duration_hours" in sent.text
    assert count_rows(loaded, "SELECT count(*) FROM requests") == before


def test_the_audit_page_answers_an_out_of_range_cursor_with_a_problem(loaded: App) -> None:
    from fastapi.testclient import TestClient

    client, _ = _console_login(loaded, "fay")
    assert isinstance(client, TestClient)
    page = client.get("/audit?before=99999999999999999999")
    assert page.status_code == 422
    assert "before" in page.text


def test_reviewers_claiming_at_once_get_the_claim_or_a_conflict(
    loaded: App, three: dict[str, str]
) -> None:
    """Three reviewers claim one unclaimed request at the same moment: one holds it, the others
    are told who does (409), never a server error (fails on PostgreSQL without the insert's
    conflict clause)."""
    rid = three["thaw_a1"]
    reviewers = [who(loaded, p) for p in ("fay", "finn", "sam")]

    def one(reviewer: Principal, barrier: threading.Barrier) -> str:
        barrier.wait()
        try:
            console.claim(loaded.uow(), loaded.env, actor=reviewer, request_id=rid)
        except Conflict:
            return "conflict"
        return "claimed"

    for _ in range(40 if ON_POSTGRES else 5):
        with loaded.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM request_claims"))
        barrier = threading.Barrier(len(reviewers))
        with ThreadPoolExecutor(len(reviewers)) as pool:
            outcomes = sorted(pool.map(one, reviewers, [barrier] * len(reviewers)))
        assert outcomes == ["claimed", "conflict", "conflict"]


def test_take_next_claims_only_what_cedar_lets_the_reviewer_claim(
    loaded: App, three: dict[str, str]
) -> None:
    """ "Take next" makes a claim: the same Cedar action (claim_request) as the Claim button
    decides, so a forbid on claims holds for it too."""
    from thawgate.policy.authz import Authorizer

    pack = Path(loaded.settings.policy_dir)
    loaded.env.authorizer = Authorizer.from_text(
        (pack / "schema.cedarschema").read_text(),
        (pack / "authz.cedar").read_text() + '\n@id("test-no-claims-by-fraud-reviewers")\n'
        'forbid (principal, action == Thawgate::Action::"claim_request", resource)\n'
        'when { principal.roles.contains("fraud_reviewer") };\n',
    )
    fay = who(loaded, "fay")
    with pytest.raises(Forbidden):
        console.claim(loaded.uow(), loaded.env, actor=fay, request_id=three["thaw_a1"])
    assert console.take_next(loaded.uow(), loaded.env, actor=fay) is None
    assert count_rows(loaded, "SELECT count(*) FROM request_claims") == 0


def test_an_answers_evidence_carries_the_time_it_was_observed(
    loaded: App, clock: Clock, three: dict[str, str]
) -> None:
    """The answer form, like the new-request form, asks when the evidence was observed: it
    never stamps an old check as observed now (which would pass any freshness rule)."""
    from fastapi.testclient import TestClient

    rid = three["thaw_a1"]
    review.question(loaded.uow(), loaded.env, actor=who(loaded, "fay"), request_id=rid, comment="?")
    client, csrf = _console_login(loaded, "alice")
    assert isinstance(client, TestClient)
    undated = client.post(
        f"/requests/{rid}/answer",
        data={
            "csrf_token": csrf,
            "comment": "here it is",
            "evidence_type": "SELFIE_LIVENESS",
            "evidence_reference": "live-7",
        },
        follow_redirects=False,
    )
    assert undated.status_code == 422
    with loaded.uow(readonly=True) as uow:
        still = uow.requests.get(rid)
    assert still is not None
    assert still.status == "needs_info"

    observed = clock.now - timedelta(days=3)
    dated = client.post(
        f"/requests/{rid}/answer",
        data={
            "csrf_token": csrf,
            "comment": "here it is",
            "evidence_type": "SELFIE_LIVENESS",
            "evidence_reference": "live-7",
            "evidence_observed_at": observed.strftime("%Y-%m-%dT%H:%M"),
        },
        follow_redirects=False,
    )
    assert dated.status_code == 303, dated.text
    with loaded.uow(readonly=True) as uow:
        answered = uow.requests.get(rid)
    assert answered is not None
    live = [e for e in answered.evidence if e.reference == "live-7"]
    assert [e.observed_at for e in live] == [observed.replace(second=0, microsecond=0)]
