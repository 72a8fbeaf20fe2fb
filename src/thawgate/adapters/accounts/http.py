"""The `http` account system: the JSON contract of docs/account-system.md, over httpx.

Every call carries an `Idempotency-Key` and the version it expects. A timeout or a 5xx is an
unknown outcome (the core may have applied it); the worker settles it by reading the target.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from thawgate.services.ports import (
    AccountSystemUnavailable,
    TargetState,
    UnknownOutcome,
    VersionConflict,
)


class HttpAccountSystem:
    name = "http"

    def __init__(
        self, base_url: str, *, timeout: float = 5.0, client: httpx.Client | None = None
    ) -> None:
        self.client = client or httpx.Client(base_url=base_url, timeout=timeout)

    def lift_restriction(self, *, restriction_id: str, expected_version: int, key: str) -> int:
        return self._change(
            "POST",
            f"/v1/restrictions/{restriction_id}/lift",
            restriction_id,
            {"expected_version": expected_version},
            key,
        )

    def remove_binding(self, *, binding_id: str, expected_version: int, key: str) -> int:
        return self._change(
            "POST",
            f"/v1/bindings/{binding_id}/remove",
            binding_id,
            {"expected_version": expected_version},
            key,
        )

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
        body = {
            "account_id": account_id,
            "scope": scope,
            "reason": reason,
            "expires_at": None if expires_at is None else expires_at.isoformat(),
        }
        return self._change("PUT", f"/v1/restrictions/{restriction_id}", restriction_id, body, key)

    def read(self, target_id: str) -> TargetState | None:
        try:
            response = self.client.get(f"/v1/targets/{target_id}")
        except httpx.TimeoutException as exc:
            raise UnknownOutcome(f"reading {target_id} timed out") from exc
        except httpx.TransportError as exc:
            raise AccountSystemUnavailable(f"account system unreachable: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise AccountSystemUnavailable(f"reading {target_id}: HTTP {response.status_code}")
        return _state(response.json())

    def _change(self, method: str, path: str, target: str, body: dict[str, Any], key: str) -> int:
        try:
            response = self.client.request(
                method, path, json=body, headers={"Idempotency-Key": key}
            )
        except httpx.TimeoutException as exc:
            raise UnknownOutcome(f"{method} {path} timed out; it may have been applied") from exc
        except httpx.ConnectError as exc:
            raise AccountSystemUnavailable(f"account system unreachable: {exc}") from exc
        except httpx.TransportError as exc:
            raise UnknownOutcome(f"{method} {path}: {exc}; it may have been applied") from exc
        if response.status_code == 409:
            current = response.json().get("current")
            raise VersionConflict(target, _state(current) if current else None)
        if response.status_code >= 500:
            raise UnknownOutcome(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise AccountSystemUnavailable(
                f"{method} {path}: HTTP {response.status_code}: {response.text[:200]}"
            )
        return int(response.json()["version"])


def _state(data: dict[str, Any]) -> TargetState:
    return TargetState(
        id=str(data["id"]),
        version=int(data["version"]),
        status=str(data["status"]),
        last_key=data.get("last_key"),
    )
