"""The audit log's routes (API.md, "Audit log"): events, the latest checkpoint, the public key,
inclusion and consistency proofs. Readable by auditors and reviewers (`read_audit`)."""
# No `from __future__ import annotations` here: FastAPI reads the route annotations at runtime.

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from thawgate.adapters.audit.signer import AuditKeyError
from thawgate.bootstrap import App
from thawgate.domain.checkpoint import checkpoint_to_json
from thawgate.domain.errors import NotFound
from thawgate.domain.model import Principal
from thawgate.entrypoints import audit_wiring
from thawgate.entrypoints.api.auth import principal_dependency
from thawgate.services import audit_log
from thawgate.services.audit_log import EVENTS_MAX

JSON = dict[str, object]
MAX_SEQ = 2**63 - 1  # the sequence column is a signed 64-bit integer on both databases


def router(app: App) -> APIRouter:
    routes = APIRouter(prefix="/audit", tags=["audit"])
    env = app.env

    Actor = Annotated[Principal, Depends(principal_dependency(app))]

    @routes.get("/events")
    def events(
        actor: Actor,
        from_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Query(ge=1, le=EVENTS_MAX)] = 100,
    ) -> list[JSON]:
        entries = audit_log.read_events(
            app.uow(readonly=True), env, actor=actor, from_seq=from_seq, limit=limit
        )
        return [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "data": e.data,
                "leaf_hash": None if e.leaf_hash is None else e.leaf_hash.hex(),
            }
            for e in entries
        ]

    @routes.get("/checkpoint")
    def checkpoint(actor: Actor) -> JSON:
        latest = audit_log.read_checkpoint(app.uow(readonly=True), env, actor=actor)
        body = checkpoint_to_json(latest)
        return {k: body[k] for k in ("origin", "size", "root_hash", "signature", "key_id", "note")}

    @routes.get("/public-key")
    def public_key(actor: Actor) -> JSON:
        audit_log.authorize_read(app.uow(readonly=True), env, actor=actor)
        try:
            key = audit_wiring.signer(app.settings)
        except AuditKeyError:
            raise NotFound("this deployment has no audit signing key") from None
        return {
            "key_id": key.key_id.hex(),
            "algorithm": "ed25519",
            "public_key": base64.b64encode(key.public_key).decode(),
            "origin": key.key_name,
            "verifier_key": key.verifier_key,
        }

    @routes.get("/proof/inclusion")
    def inclusion(
        actor: Actor,
        seq: Annotated[int, Query(ge=0)],
        size: Annotated[int | None, Query(ge=1)] = None,
    ) -> JSON:
        proof = audit_log.inclusion_proof(
            app.uow(readonly=True), env, actor=actor, seq=seq, size=size
        )
        return {
            "leaf_index": proof.first,
            "tree_size": proof.size,
            "hashes": [h.hex() for h in proof.hashes],
        }

    @routes.get("/proof/consistency")
    def consistency(
        actor: Actor,
        first: Annotated[int, Query(alias="from", ge=0)],
        second: Annotated[int | None, Query(alias="to", ge=1)] = None,
    ) -> JSON:
        proof = audit_log.consistency_proof(
            app.uow(readonly=True), env, actor=actor, first=first, second=second
        )
        return {"from": proof.first, "to": proof.size, "hashes": [h.hex() for h in proof.hashes]}

    return routes
