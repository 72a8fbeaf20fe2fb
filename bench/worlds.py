"""The worlds the benchmarks load: N quiet accounts, each with one ATO freeze to thaw."""

from __future__ import annotations

from datetime import datetime, timedelta

AGENTS = 20  # a support desk's requesters, round-robin


def thaw_world(n: int, now: datetime) -> dict[str, object]:
    return {
        "principals": [
            *(
                {"id": f"agent-{k}", "team": "customer_support", "roles": ["requester"]}
                for k in range(AGENTS)
            ),
            {"id": "fay", "team": "fraud_risk", "roles": ["fraud_reviewer"]},
            {"id": "sec-bot", "team": "security", "roles": ["restriction_placer"]},
        ],
        "accounts": [
            {
                "id": f"B{i}",
                "created_at": (now - timedelta(days=400)).isoformat(),
                "restrictions": [
                    {
                        "id": f"br-{i}",
                        "scope": "withdraw",
                        "reason": "ATO_SUSPECTED",
                        "placed_by": "sec-bot",
                        "placed_at": (now - timedelta(days=2)).isoformat(),
                    }
                ],
                "events": [
                    {
                        "type": "login",
                        "at": (now - timedelta(days=3)).isoformat(),
                        "ip": f"10.9.{i // 250}.{i % 250}",
                        "country": "DE",
                        "device": f"dev-{i}",
                    }
                ],
            }
            for i in range(n)
        ],
    }
