"""The worlds the benchmarks load: N quiet accounts, each with one ATO freeze to thaw."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from thawgate.adapters.db.engine import make_engine  # after the path set-up

AGENTS = 20  # a support desk's requesters, round-robin


@contextmanager
def scratch_schema() -> Iterator[str]:
    """A database URL on a PostgreSQL schema of its own (THAWGATE_BENCH_POSTGRES_URL), dropped
    afterwards."""
    base = os.environ.get(
        "THAWGATE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


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
