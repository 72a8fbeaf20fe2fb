"""Break-glass (POLICY.md floor item 10): in an emergency a senior fraud reviewer fills one
missing fraud clause of one request, with a justification, at most N times a day (policy), and a
second senior reviews it after the fact.

Pure: which clause it may fill, which targets it may never touch, the daily limit, and the
after-the-fact review's state machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from thawgate.domain.catalog import Role
from thawgate.domain.clauses import Approval, open_clauses
from thawgate.domain.decision import Clause
from thawgate.domain.errors import Conflict, Forbidden, SeparationOfDuties, ValidationFailed
from thawgate.domain.model import Principal

# The only clauses break-glass fills, the most specific first.
FILLABLE = (Role.SENIOR_FRAUD_REVIEWER.value, Role.FRAUD_REVIEWER.value)
# Restriction classes it never touches (floor item 10), as Assessment.reason_classes names them.
UNTOUCHABLE_CLASSES = frozenset({"regulatory", "legal_hold", "non_liftable"})
WINDOW = timedelta(hours=24)  # "N a day": a rolling 24 hours per person
MIN_JUSTIFICATION = 20  # characters: an emergency is explained, not waved through
VERDICTS = frozenset({"upheld", "misuse"})


def break_glass_clause(
    *, approver: Principal, clauses: tuple[Clause, ...], approvals: list[Approval]
) -> str:
    """The fraud clause a senior's break-glass fills: the most specific open one."""
    if Role.SENIOR_FRAUD_REVIEWER not in approver.roles:
        raise Forbidden("break-glass is for a senior_fraud_reviewer", ("break-glass-senior",))
    slots = open_clauses(clauses, approvals)
    for role in FILLABLE:
        if slots.get(role, 0) > 0:
            return role
    raise Forbidden(
        f"break-glass fills only a missing fraud clause; open: {', '.join(sorted(slots)) or 'none'}"
    )


def check_targets(reason_classes: tuple[str, ...] | list[str]) -> None:
    """Never a regulatory, legal_hold or non_liftable restriction (floor item 10)."""
    touched = sorted(UNTOUCHABLE_CLASSES.intersection(reason_classes))
    if touched:
        raise SeparationOfDuties(
            "break-glass never touches a regulatory, legal_hold or non_liftable restriction",
            floor_item=10,
        )


def check_justification(text: str) -> str:
    text = text.strip()
    if len(text) < MIN_JUSTIFICATION:
        raise ValidationFailed(
            f"justification: break-glass needs at least {MIN_JUSTIFICATION} characters "
            "explaining the emergency",
            field="justification",
        )
    return text


def check_daily_limit(used: int, limit: int) -> None:
    if used >= limit:
        raise Forbidden(
            f"break-glass limit reached: {limit} in 24 hours (policy settings.break_glass_per_day)",
            ("break-glass-daily-limit",),
        )


@dataclass(slots=True)
class BreakGlass:
    """One use of break-glass and its mandatory after-the-fact review (open until done)."""

    id: str
    request_id: str
    principal: str
    team: str
    clause: str
    justification: str
    at: datetime
    alert_id: str
    review_status: str = "open"  # open | done
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    verdict: str | None = None  # upheld | misuse
    review_comment: str | None = None

    def review(self, *, by: Principal, verdict: str, comment: str, at: datetime) -> None:
        """A second senior fraud reviewer closes it: never the one who broke glass."""
        if verdict not in VERDICTS:
            raise ValidationFailed(
                f"verdict: {verdict!r} is not one of {', '.join(sorted(VERDICTS))}",
                field="verdict",
            )
        if by.id == self.principal:
            raise SeparationOfDuties(
                "you broke the glass; a second senior fraud reviewer reviews it", floor_item=10
            )
        if self.review_status != "open":
            raise Conflict(f"break-glass {self.id} was already reviewed by {self.reviewed_by}")
        self.review_status = "done"
        self.reviewed_by, self.reviewed_at = by.id, at
        self.verdict, self.review_comment = verdict, comment
