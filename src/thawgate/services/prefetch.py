"""The worker's batch reads: everything a batch of executions re-checks, in a few queries.

Re-evaluating one request reads its account, requester, events and a handful of counts. For a
batch, the same facts come from set-based queries (`… WHERE account_id IN (…)`), then each job
is judged exactly as `assess` judges one. Accounts that appear twice in a batch are left to the
one-at-a-time path, so no job reads a state that an earlier job of the batch has changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain.model import Account, AccountEvent, Principal
from thawgate.domain.request import Request
from thawgate.services.assess import HISTORY


@dataclass
class BatchFacts:
    """A FactSource answering from prefetched maps."""

    events_by_account: dict[str, list[AccountEvent]] = field(default_factory=dict)
    linked_by_account: dict[str, int] = field(default_factory=dict)
    volume_by_requester: dict[str, tuple[int, int]] = field(default_factory=dict)
    prior_by_account: dict[str, int] = field(default_factory=dict)
    history_by_requester: dict[str, list[tuple[datetime, tuple[str, ...]]]] = field(
        default_factory=dict
    )

    def events(self, account_id: str, since: datetime) -> list[AccountEvent]:
        return [e for e in self.events_by_account[account_id] if e.at >= since]

    def linked_restricted(self, account_id: str) -> int:
        return self.linked_by_account[account_id]

    def requester_volume(
        self, requester: str, day_start: datetime, until: datetime
    ) -> tuple[int, int]:
        del day_start, until  # prefetched for this batch's day
        return self.volume_by_requester[requester]

    def rejected_or_withdrawn(self, account_id: str, since: datetime) -> int:
        del since  # prefetched for the same 30 days
        return self.prior_by_account[account_id]

    def requester_history(
        self, requester: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, tuple[str, ...]]]:
        """From one read per requester spanning the whole batch's windows."""
        return [h for h in self.history_by_requester[requester] if since <= h[0] < until]


@dataclass
class Prefetched:
    requests: dict[str, Request]
    accounts: dict[str, Account]
    principals: dict[str, Principal]
    facts: BatchFacts
    executed: list[str] = field(default_factory=list)

    def covers(self, request_id: str) -> bool:
        request = self.requests.get(request_id)
        return request is not None and request.account_id in self.accounts


def prefetch(uow: UnitOfWork, request_ids: list[str], now: datetime) -> Prefetched:
    requests = uow.requests.get_many(request_ids, for_update=True)
    per_account = Counter(r.account_id for r in requests.values())
    singles = sorted(a for a, n in per_account.items() if n == 1)
    requesters = sorted({r.requester for r in requests.values()})
    approvers = {a.principal for r in requests.values() for a in r.approvals}
    filed = [r.created_at for r in requests.values()] or [now]
    history_since, history_until = min(filed) - timedelta(days=30), max(filed)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    facts = BatchFacts(
        events_by_account=uow.accounts.events_many(singles, now - HISTORY),
        linked_by_account=uow.accounts.linked_restricted_many(singles),
        volume_by_requester=uow.requests.requester_volume_many(
            requesters, day_start, now + timedelta(days=1)
        ),
        prior_by_account=uow.requests.count_on_accounts(
            singles, ("rejected", "withdrawn"), now - timedelta(days=30)
        ),
        history_by_requester=uow.requests.requester_history_many(
            requesters, history_since, history_until
        ),
    )
    return Prefetched(
        requests=requests,
        accounts=uow.accounts.get_many(singles),
        principals=uow.principals.get_many(sorted(set(requesters) | approvers), as_of=now),
        facts=facts,
    )
