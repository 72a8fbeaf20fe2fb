"""Operator factors: volume, off-hours against the requester's own hours, pair recurrence at
approval; and dormancy. Through `assess` on an in-memory fact source (no database)."""

from __future__ import annotations

from datetime import datetime

import pytest
from factories import DAY, HOUR, NOW, default_policy, make_event, make_requester, make_restriction

from thawgate.domain.model import Account, AccountEvent
from thawgate.domain.request import Evidence
from thawgate.domain.risk import days_since_login, is_off_hours, pair_counts
from thawgate.services.assess import Assessment, Subject, assess

DAY_SHIFT = [NOW.replace(hour=9) - d * DAY + h * HOUR for d in range(1, 21) for h in range(8)]


@pytest.mark.parametrize(("hour", "off"), [(3, True), (20, True), (9, False), (17, False)])
def test_off_hours_against_the_requesters_own_hours(hour: int, off: bool) -> None:
    assert is_off_hours(NOW.replace(hour=hour), DAY_SHIFT) is off


def test_no_usual_hours_without_enough_history() -> None:
    assert is_off_hours(NOW.replace(hour=3), DAY_SHIFT[:9]) is False


def test_pair_counts_take_the_busiest_approver_present() -> None:
    earlier = [("fr-1",), ("fr-1",), ("fr-2",), (), ("fr-1", "sfr-1")]
    assert pair_counts(earlier, ("fr-1",)) == (3, 4, 3)
    assert pair_counts(earlier, ("fr-2", "sfr-1")) == (1, 4, 3)
    assert pair_counts(earlier, ()) == (0, 4, 3)


def test_a_team_of_one_approver_is_not_a_pair() -> None:
    solo = History([(NOW - (i + 1) * DAY, ("fr-9",)) for i in range(12)])
    assert "pair_recurrence" not in names(judge(solo, at=NOW, approvers=("fr-9",)))


def test_days_since_login() -> None:
    events = [make_event("login", NOW - 70 * DAY), make_event("deposit", NOW - DAY)]
    assert days_since_login(events, NOW, 400) == 70
    deposit = [make_event("deposit", NOW - DAY)]
    assert days_since_login(deposit, NOW, 400) == 90
    assert days_since_login(deposit, NOW, 12) == 12
    assert days_since_login([], NOW, 400) == 0  # no events at all: unknown, not dormant


class History:
    """A FactSource with the requester's earlier requests: filed at, approved by."""

    def __init__(self, earlier: list[tuple[datetime, tuple[str, ...]]], today: int = 0) -> None:
        self.earlier = earlier
        self.today = today

    def events(self, account_id: str, since: datetime) -> list[AccountEvent]:
        return [make_event("login", NOW - 2 * DAY, device="d", country="DE")]

    def linked_restricted(self, account_id: str) -> int:
        return 0

    def requester_volume(
        self, requester: str, day_start: datetime, until: datetime
    ) -> tuple[int, int]:
        return self.today, 60

    def rejected_or_withdrawn(self, account_id: str, since: datetime) -> int:
        return 0

    def requester_history(
        self, requester: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, tuple[str, ...]]]:
        return [(t, a) for t, a in self.earlier if since <= t < until]


def judge(
    source: History, *, at: datetime, now: datetime | None = None, approvers: tuple[str, ...] = ()
):  # type: ignore[no-untyped-def]
    account = Account("a-1", NOW - 400 * DAY, restrictions=[make_restriction(account_id="a-1")])
    subject = Subject(
        kind="thaw",
        account=account,
        target_ids=["rst-1"],
        requester=make_requester(),
        evidence=[Evidence("KYC_LIVENESS_PASS", "k", at - HOUR)],
        evidence_as_of=at,
        submitted_at=at,
        approvers=approvers,
    )
    return assess(None, default_policy(), subject, now or at, source)


def names(a: Assessment) -> set[str]:
    return {f.name for f in a.decision.risk.factors}


def test_off_hours_fires_at_night_and_not_in_shift() -> None:
    history = History([(t, ()) for t in DAY_SHIFT])
    assert "off_hours" in names(judge(history, at=NOW.replace(hour=3)))
    assert "off_hours" not in names(judge(history, at=NOW.replace(hour=11)))


def test_off_hours_is_judged_at_filing_so_a_later_review_sees_the_same() -> None:
    history = History([(t, ()) for t in DAY_SHIFT])
    filed = NOW.replace(hour=3)
    later = judge(history, at=filed, now=filed + 8 * HOUR)
    assert "off_hours" in names(later)


def test_requester_volume_fires_on_a_burst_against_the_baseline() -> None:
    assert "requester_volume" in names(judge(History([], today=12), at=NOW))
    assert "requester_volume" not in names(judge(History([], today=4), at=NOW))


def partner_history() -> History:
    approvals = ["fr-9"] * 12 + ["fr-1", "fr-2", "fr-3", "fr-4"] * 2
    return History([(NOW - (i + 1) * DAY, (a,)) for i, a in enumerate(approvals)])


def test_pair_recurrence_is_scored_only_when_the_approval_arrives() -> None:
    at_intake = judge(partner_history(), at=NOW)
    at_approval = judge(partner_history(), at=NOW, approvers=("fr-9",))
    assert "pair_recurrence" not in names(at_intake)
    assert "pair_recurrence" in names(at_approval)


def test_pair_recurrence_escalates_and_so_changes_the_digest() -> None:
    at_intake = judge(partner_history(), at=NOW)
    at_approval = judge(partner_history(), at=NOW, approvers=("fr-9",))
    roles = {c.role for c in at_approval.decision.required_approvals}
    assert "senior_fraud_reviewer" in roles
    assert at_approval.digest != at_intake.digest


def test_an_ordinary_approver_changes_neither_score_nor_digest() -> None:
    at_intake = judge(partner_history(), at=NOW)
    at_approval = judge(partner_history(), at=NOW, approvers=("fr-2",))
    assert "pair_recurrence" not in names(at_approval)
    assert at_approval.digest == at_intake.digest


def test_a_dormant_account_fires_dormant_account() -> None:
    class Dormant(History):
        def events(self, account_id: str, since: datetime) -> list[AccountEvent]:
            return [make_event("deposit", NOW - 80 * DAY)]

    assert "dormant_account" in names(judge(Dormant([]), at=NOW))
    assert "dormant_account" not in names(judge(History([]), at=NOW))
