"""The `http` account system against the reference simulator, over loopback, with faults.

Every job must end terminal (executed, back to review as stale, or failed with a reason), none
lost or stuck, and the simulator must never see a target change twice.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import uvicorn
from tests.integration.conftest import ON_POSTGRES, Clock
from tests.integration.helpers import approve, drain, liveness, submit

from thawgate.adapters.accounts.http import HttpAccountSystem
from thawgate.bootstrap import App
from thawgate.entrypoints.account_sim import create_sim
from thawgate.services import loader

EXECUTIONS = 1000 if ON_POSTGRES else 120
CLIENT_TIMEOUT = 0.15


@pytest.fixture
def sim_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_sim(), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def _world(clock: Clock, n: int) -> dict[str, object]:
    return {
        "accounts": [
            {
                "id": f"H{i}",
                "created_at": (clock.now - timedelta(days=400)).isoformat(),
                "restrictions": [
                    {
                        "id": f"hr-{i}",
                        "scope": "withdraw",
                        "reason": "ATO_SUSPECTED",
                        "placed_by": "sec-bot",
                        "placed_at": (clock.now - timedelta(days=2)).isoformat(),
                    }
                ],
            }
            for i in range(n)
        ]
    }


def _seed(sim: httpx.Client, n: int) -> None:
    targets = [
        {"id": f"hr-{i}", "kind": "restriction", "account_id": f"H{i}", "version": 1}
        for i in range(n)
    ]
    sim.post("/_admin/targets", json=targets).raise_for_status()


def test_unknown_outcome_is_settled_by_reading_not_by_a_new_key(
    loaded: App, clock: Clock, sim_url: str
) -> None:
    loader.load_world(loaded.uow(), loaded.env, _world(clock, 1))
    admin = httpx.Client(base_url=sim_url)
    _seed(admin, 1)
    admin.post(
        "/_admin/faults", json={"timeout_after_apply_rate": 1.0, "timeout_seconds": 0.4}
    ).raise_for_status()
    loaded.env.remote_accounts = HttpAccountSystem(sim_url, timeout=CLIENT_TIMEOUT)
    r = submit(loaded, "alice", "H0", ["hr-0"], evidence=[liveness(loaded, 0.5)])
    approve(loaded, "fay", r.id, r.state_digest)
    assert drain(loaded).executed == 1
    stats = admin.get("/_admin/stats").json()
    assert stats["counts"]["applied"] == 1
    assert stats["counts"].get("replayed", 0) == 0  # settled by a read, not by calling again
    target = admin.get("/v1/targets/hr-0").json()
    assert target["status"] == "lifted"
    assert target["last_key"] == f"{r.id}:0:0"
    with loaded.uow(readonly=True) as uow:
        mirrored = uow.accounts.restriction("hr-0")
    assert mirrored is not None
    assert (mirrored.status, mirrored.version) == ("lifted", 2)


def test_executions_under_faults_end_terminal_with_no_double_lift(
    loaded: App, clock: Clock, sim_url: str
) -> None:
    loader.load_world(loaded.uow(), loaded.env, _world(clock, EXECUTIONS))
    admin = httpx.Client(base_url=sim_url)
    _seed(admin, EXECUTIONS)
    ids = []
    for i in range(EXECUTIONS):
        r = submit(loaded, "alice", f"H{i}", [f"hr-{i}"], evidence=[liveness(loaded, 0.5)])
        approve(loaded, "fay", r.id, r.state_digest)
        ids.append(r.id)
    admin.post(
        "/_admin/faults",
        json={
            "latency_ms": 2,
            "error_rate": 0.1,
            "timeout_after_apply_rate": 0.1,
            "timeout_seconds": 0.3,
            "duplicate_rate": 0.1,
            "version_bump_rate": 0.05,
            "seed": 7,
        },
    ).raise_for_status()
    loaded.env.remote_accounts = HttpAccountSystem(sim_url, timeout=CLIENT_TIMEOUT)
    loaded.env.backoff_scale = 0.0
    loaded.env.job_max_attempts = 4
    threads = [threading.Thread(target=_drain_until_idle, args=(loaded, f"w{i}")) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(600)
    with loaded.uow(readonly=True) as uow:
        requests = [uow.requests.get(i) for i in ids]
        pending_jobs = uow.jobs.pending_count()
    statuses = [r.status for r in requests if r is not None]
    assert pending_jobs == 0, "a job is stuck"
    assert set(statuses) <= {"executed", "pending_approval", "failed"}, set(statuses)
    assert all(r.status_reason for r in requests if r is not None and r.status != "executed")
    stats = admin.get("/_admin/stats").json()
    assert stats["double_changes"] == 0
    assert stats["changes"] == statuses.count("executed")
    assert statuses.count("executed") > EXECUTIONS * 0.8
    assert stats["counts"].get("timeout_after_apply", 0) > 0
    assert stats["counts"].get("duplicate_delivered", 0) > 0


def _drain_until_idle(app: App, worker: str) -> None:
    idle = 0
    while idle < 3:
        result = drain(app, worker=worker)
        idle = idle + 1 if result.claimed == 0 else 0
        if result.claimed == 0:
            time.sleep(0.05)
