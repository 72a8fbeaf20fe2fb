"""Evidence rules of POLICY.md: age at intake, and newer than the state it vouches for."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from thawgate.domain.decision import EvidenceRequirement
from thawgate.domain.request import Evidence

# Evidence observed slightly in the future (clock skew between systems) is still accepted.
CLOCK_SKEW = timedelta(minutes=5)


def counts(
    item: Evidence,
    requirement: EvidenceRequirement,
    *,
    as_of: datetime,
    not_before: datetime | None,
) -> bool:
    if item.type not in requirement.types:
        return False
    if item.observed_at > as_of + CLOCK_SKEW:
        return False
    if as_of - item.observed_at > timedelta(hours=requirement.max_age_hours):
        return False
    return not_before is None or item.observed_at > not_before


def missing(
    requirements: Iterable[EvidenceRequirement],
    evidence: list[Evidence],
    *,
    as_of: datetime,
    not_before: datetime | None,
) -> list[str]:
    """The labels (`A|B`) of the requirements no piece of evidence meets.

    `not_before` is the latest of: each target restriction's placing, and the account's latest
    sim_swap, phone_change, password_change or binding_added event. A liveness check from before
    the takeover proves nothing.
    """
    return [
        req.label
        for req in requirements
        if not any(counts(e, req, as_of=as_of, not_before=not_before) for e in evidence)
    ]


def merge(requirements: Iterable[EvidenceRequirement]) -> tuple[EvidenceRequirement, ...]:
    """Union of requirements; the same alternatives keep the stricter (shorter) age."""
    best: dict[tuple[str, ...], int] = {}
    for req in requirements:
        key = tuple(sorted(req.types))
        best[key] = min(best.get(key, req.max_age_hours), req.max_age_hours)
    return tuple(EvidenceRequirement(types, age) for types, age in sorted(best.items()))
