"""A FactSource over a generated world, in memory: what the repositories would answer."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import datetime, timedelta

from thawgate.domain.model import AccountEvent
from thawgate.synth.world import SynthRequest, World


class WorldIndex:
    """The world's requests, events and links indexed once; `at(t)` answers as of `t`."""

    def __init__(self, world: World) -> None:
        self.world = world
        filed = sorted([*world.history, *world.requests], key=lambda r: r.at)
        self.by_requester: dict[str, list[SynthRequest]] = defaultdict(list)
        for r in filed:
            self.by_requester[r.requester].append(r)
        self.times = {k: [r.at for r in v] for k, v in self.by_requester.items()}
        self.settled: dict[str, list[SynthRequest]] = defaultdict(list)
        for r in world.history:
            self.settled[r.account_id].append(r)
        self.linked = _linked_restricted(world)

    def at(self, moment: datetime) -> WorldFacts:
        return WorldFacts(self, moment)


class WorldFacts:
    """FactSource and OperatorHistory for one moment of the world."""

    def __init__(self, index: WorldIndex, moment: datetime) -> None:
        self.index = index
        self.moment = moment

    def events(self, account_id: str, since: datetime) -> list[AccountEvent]:
        return [
            e for e in self.index.world.events.get(account_id, []) if since <= e.at <= self.moment
        ]

    def linked_restricted(self, account_id: str) -> int:
        return self.index.linked.get(account_id, 0)

    def requester_volume(
        self, requester: str, day_start: datetime, until: datetime
    ) -> tuple[int, int]:
        del until  # what was filed before this moment
        times = self.index.times.get(requester, [])
        before_now = bisect_left(times, self.moment)
        today_start = bisect_left(times, day_start)
        month_start = bisect_left(times, day_start - timedelta(days=30))
        return before_now - today_start, today_start - month_start

    def rejected_or_withdrawn(self, account_id: str, since: datetime) -> int:
        return sum(
            1
            for r in self.index.settled.get(account_id, [])
            if r.status in ("rejected", "withdrawn") and since <= r.at < self.moment
        )

    def requester_history(
        self, requester: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, tuple[str, ...]]]:
        return [
            (r.at, (r.approver,) if r.approver and r.status == "executed" else ())
            for r in self.index.by_requester.get(requester, [])
            if since <= r.at < until
        ]


def _linked_restricted(world: World) -> dict[str, int]:
    """Per account: other accounts sharing a device or IP that are under an active restriction."""
    holders: dict[str, set[str]] = defaultdict(set)
    for aid, events in world.events.items():
        for e in events:
            if e.device:
                holders[f"d:{e.device}"].add(aid)
            if e.ip:
                holders[f"i:{e.ip}"].add(aid)
    restricted = {a.id for a in world.accounts.values() if any(r.is_active for r in a.restrictions)}
    links: dict[str, set[str]] = defaultdict(set)
    for group in holders.values():
        if len(group) > 1:
            for aid in group:
                links[aid] |= group - {aid}
    return {aid: len(others & restricted) for aid, others in links.items()}
