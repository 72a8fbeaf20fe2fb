"""The alert webhook: one signed POST per attempt, per the Standard Webhooks convention.

Headers `webhook-id` (the alert id: the same on every retry, so a receiver can drop
duplicates), `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
(`v1,<base64 HMAC-SHA256>` over `id.timestamp.body`), signed with the `standardwebhooks`
library.
"""

from __future__ import annotations

from datetime import UTC, datetime
from math import floor

import httpx
from standardwebhooks.webhooks import Webhook


class WebhookFailed(Exception):
    """The receiver did not take the message (a network error or a non-2xx answer)."""


class WebhookSender:
    def __init__(self, url: str, secret: str, *, timeout: float = 5.0) -> None:
        try:
            self._signer = Webhook(secret)
        except Exception as exc:  # the library raises bare errors on a malformed secret
            raise ValueError(
                "THAWGATE_ALERT_WEBHOOK_SECRET: not a webhook secret (whsec_ + base64)"
            ) from exc
        self.url = url
        self._client = httpx.Client(timeout=timeout)

    def send(self, message_id: str, body: str) -> None:
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(floor(now.timestamp())),
            "webhook-signature": self._signer.sign(message_id, now, body),
        }
        try:
            response = self._client.post(self.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise WebhookFailed(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise WebhookFailed(f"HTTP {response.status_code} from the webhook receiver")

    def close(self) -> None:
        self._client.close()
