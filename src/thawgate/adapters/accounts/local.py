"""The `local` account system: Thawgate's own tables, changed in the worker's transaction.

Because the change commits together with the request's `executed` status and the audit event, a
crash anywhere leaves either all of it or none of it.
"""

from __future__ import annotations

from datetime import datetime

from thawgate.adapters.db.accounts_repo import AccountRepository
from thawgate.domain.model import Restriction
from thawgate.services.ports import TargetState, VersionConflict


class LocalAccountSystem:
    name = "local"

    def __init__(self, accounts: AccountRepository, now: datetime) -> None:
        self.accounts = accounts
        self.now = now

    def lift_restriction(self, *, restriction_id: str, expected_version: int, key: str) -> int:
        """One compare-and-swap; read only to explain a conflict."""
        if not self.accounts.lift_if_at(
            restriction_id, expected_version, now=self.now, lifted_by=key.split(":", 1)[0]
        ):
            raise VersionConflict(restriction_id, self.read(restriction_id))
        return expected_version + 1

    def remove_binding(self, *, binding_id: str, expected_version: int, key: str) -> int:
        del key  # one transaction: the key is not needed to settle anything
        b = self.accounts.binding(binding_id)
        if b is None or b.version != expected_version or not b.is_active:
            raise VersionConflict(binding_id, self.read(binding_id))
        b.remove()
        if not self.accounts.save_binding(b, expected_version=expected_version, now=self.now):
            raise VersionConflict(binding_id, self.read(binding_id))
        return b.version

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
        existing = self.accounts.restriction(restriction_id)
        if existing is not None:
            return existing.version
        self.accounts.add_restriction(
            Restriction(
                id=restriction_id,
                account_id=account_id,
                scope=scope,
                reason=reason,
                placed_by="system",
                placed_at=self.now,
                expires_at=expires_at,
                note=f"placed by {key.split(':', 1)[0]}",
            ),
            self.now,
            placed_by_request=key.split(":", 1)[0],
        )
        return 1

    def read(self, target_id: str) -> TargetState | None:
        r = self.accounts.restriction(target_id)
        if r is not None:
            return TargetState(r.id, r.version, r.status)
        b = self.accounts.binding(target_id)
        return None if b is None else TargetState(b.id, b.version, b.status)
