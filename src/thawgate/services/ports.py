"""The account-system port: how the worker changes the exchange's core account state.

Two adapters implement it: `local` (Thawgate's own tables, the embedded default) and `http`
(the JSON contract of docs/account-system.md). Every operation carries an idempotency key and the
version it expects. A retry of an operation always reuses its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TargetState:
    """What the account system says about one restriction or binding."""

    id: str
    version: int
    status: str
    last_key: str | None = None


class AccountSystemUnavailable(Exception):
    """A transient failure (5xx, connection refused): nothing was applied. Retry later."""


class UnknownOutcome(Exception):
    """The call may or may not have been applied (a timeout). Settle it by reading the state."""


class VersionConflict(Exception):
    """The target is not at the expected version: the state moved under the plan."""

    def __init__(self, target: str, state: TargetState | None) -> None:
        super().__init__(
            f"{target} is at version {state.version if state else '?'} "
            f"({state.status if state else 'missing'})"
        )
        self.target = target
        self.state = state


class AccountSystem(Protocol):
    name: str

    def lift_restriction(self, *, restriction_id: str, expected_version: int, key: str) -> int:
        """Lift; returns the new version. Raises VersionConflict, UnknownOutcome, ..."""
        ...

    def remove_binding(self, *, binding_id: str, expected_version: int, key: str) -> int: ...

    def place_restriction(
        self,
        *,
        account_id: str,
        restriction_id: str,
        scope: str,
        reason: str,
        expires_at: datetime | None,
        key: str,
    ) -> int:
        """Place a restriction with a caller-chosen id; returns its version."""
        ...

    def read(self, target_id: str) -> TargetState | None: ...
