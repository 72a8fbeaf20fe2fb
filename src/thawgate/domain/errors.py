"""The domain's error tree. No HTTP codes here: each entrypoint maps these once."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error that Thawgate raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthenticated(DomainError):
    """No credentials, or unknown or expired ones."""


class TooManyAttempts(DomainError):
    """A throttle refuses the attempt for now (console logins)."""


class Forbidden(DomainError):
    """The authorization policy says no."""

    def __init__(self, detail: str, policy_ids: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.policy_ids = policy_ids


class SeparationOfDuties(DomainError):
    """The separation-of-duties floor says no. The floor is code, not policy."""

    def __init__(self, detail: str, floor_item: int) -> None:
        super().__init__(detail)
        self.floor_item = floor_item


class NotFound(DomainError):
    """The named thing does not exist."""


class Conflict(DomainError):
    """The current state forbids the action."""


class Stale(DomainError):
    """An approval named a state digest that is no longer the request's."""


class ValidationFailed(DomainError):
    """Input is malformed or names things that don't fit. `field` names the culprit."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class IdempotencyMismatch(DomainError):
    """The same Idempotency-Key was sent with a different body."""


class PolicyError(DomainError):
    """A policy pack is invalid. The detail names the rule and the problem."""
