"""`thawgate account-sim`: a reference server for the account-system contract, with faults.

It keeps targets in memory. Faults are switched at run time through `POST /_admin/faults`:
latency, 5xx before applying, a timeout after applying, duplicate delivery, and a version changed
underneath. `GET /_admin/stats` counts what was applied, so tests can prove no double lift.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Faults(BaseModel):
    latency_ms: float = 0
    error_rate: float = 0.0  # 503 before applying
    timeout_after_apply_rate: float = 0.0  # apply, then answer too late
    timeout_seconds: float = 1.0
    duplicate_rate: float = 0.0  # the request is delivered twice
    version_bump_rate: float = 0.0  # someone else changes the target first
    seed: int = 0


class Seed(BaseModel):
    id: str
    kind: str  # restriction | binding
    account_id: str
    version: int = 1
    status: str = "active"


class Expect(BaseModel):
    expected_version: int


class Place(BaseModel):
    account_id: str
    scope: str
    reason: str
    expires_at: str | None = None


@dataclass
class _Sim:
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)  # state changes per target
    counts: dict[str, int] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    rng: random.Random = field(default_factory=random.Random)

    def hit(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1


def create_sim() -> FastAPI:  # one closure per route
    sim = _Sim()
    api = FastAPI(title="Thawgate account-system simulator")

    @api.post("/_admin/faults")
    def set_faults(faults: Faults) -> dict[str, Any]:
        sim.faults, sim.rng = faults, random.Random(faults.seed)  # noqa: S311  # fault dice
        return faults.model_dump()

    @api.post("/_admin/targets")
    def seed(targets: list[Seed]) -> dict[str, int]:
        for t in targets:
            sim.targets[t.id] = {**t.model_dump(), "last_key": None}
        return {"targets": len(sim.targets)}

    @api.get("/_admin/stats")
    def stats() -> dict[str, Any]:
        return {
            "counts": sim.counts,
            "double_changes": sum(1 for n in sim.changes.values() if n > 1),
            "changes": sum(sim.changes.values()),
        }

    @api.get("/v1/targets/{target_id}")
    def read(target_id: str) -> Any:
        t = sim.targets.get(target_id)
        return JSONResponse({"error": "not_found"}, 404) if t is None else _public(t)

    async def change(target_id: str, kind: str, expected: int, key: str, new_status: str) -> Any:
        await _latency(sim)
        if sim.hit(sim.faults.error_rate):
            sim.count("error_5xx")
            return JSONResponse({"error": "unavailable"}, 503)
        t = sim.targets.get(target_id)
        if t is None or t["kind"] != kind:
            return JSONResponse({"error": "not_found"}, 404)
        if sim.hit(sim.faults.version_bump_rate) and t["last_key"] is None:
            t["version"] += 1
            sim.count("version_bumped")
        deliveries = 2 if sim.hit(sim.faults.duplicate_rate) else 1
        reply: Any = None
        for _ in range(deliveries):
            reply = _apply(sim, t, expected, key, new_status)
        if deliveries == 2:
            sim.count("duplicate_delivered")
        if sim.hit(sim.faults.timeout_after_apply_rate):
            sim.count("timeout_after_apply")
            await asyncio.sleep(sim.faults.timeout_seconds)
        return reply

    @api.post("/v1/restrictions/{target_id}/lift")
    async def lift(target_id: str, body: Expect, idempotency_key: str = Header(...)) -> Any:
        return await change(
            target_id, "restriction", body.expected_version, idempotency_key, "lifted"
        )

    @api.post("/v1/bindings/{target_id}/remove")
    async def remove(target_id: str, body: Expect, idempotency_key: str = Header(...)) -> Any:
        return await change(target_id, "binding", body.expected_version, idempotency_key, "removed")

    @api.put("/v1/restrictions/{target_id}")
    async def place(target_id: str, body: Place, idempotency_key: str = Header(...)) -> Any:
        await _latency(sim)
        if sim.hit(sim.faults.error_rate):
            sim.count("error_5xx")
            return JSONResponse({"error": "unavailable"}, 503)
        t = sim.targets.get(target_id)
        if t is None:
            t = {
                "id": target_id,
                "kind": "restriction",
                "account_id": body.account_id,
                "version": 1,
                "status": "active",
                "last_key": idempotency_key,
            }
            sim.targets[target_id] = t
            sim.count("placed")
        return _public(t)

    return api


def _apply(sim: _Sim, t: dict[str, Any], expected: int, key: str, new_status: str) -> Any:
    if t["last_key"] == key:
        sim.count("replayed")
        return _public(t)
    if t["version"] != expected or t["status"] not in ("active", "bound"):
        sim.count("version_conflict")
        return JSONResponse({"error": "version_conflict", "current": _public(t)}, 409)
    t["version"] += 1
    t["status"] = new_status
    t["last_key"] = key
    sim.changes[t["id"]] = sim.changes.get(t["id"], 0) + 1
    sim.count("applied")
    return _public(t)


async def _latency(sim: _Sim) -> None:
    if sim.faults.latency_ms:
        await asyncio.sleep(sim.rng.uniform(0, sim.faults.latency_ms) / 1000)


def _public(t: dict[str, Any]) -> dict[str, Any]:
    return {k: t[k] for k in ("id", "kind", "account_id", "version", "status", "last_key")}
