"""The audit log's use cases: issuing signed checkpoints, and what an auditor reads (events,
the latest checkpoint, inclusion and consistency proofs). Every read is `read_audit` on the
`audit` system resource: auditors and reviewers (policies/default/authz.cedar)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain import merkle
from thawgate.domain.audit_event import canonical_at
from thawgate.domain.checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    NoteSignature,
    SignedCheckpoint,
    parse_body,
    parse_note,
    signed_note,
)
from thawgate.domain.errors import DomainError, NotFound, ValidationFailed
from thawgate.domain.model import Principal
from thawgate.policy.authz import SystemResource
from thawgate.services.env import Env, authorize

EVENTS_MAX = 1000


class AuditLogCorrupt(DomainError):
    """The stored log disagrees with what was signed: nothing more is signed until it is
    explained. `thawgate audit verify` names the first bad sequence number."""


class CheckpointSigner(Protocol):
    key_name: str
    key_id: bytes
    public_key: bytes

    def sign(self, message: bytes) -> bytes: ...


class CheckpointWitness(Protocol):
    def append(self, checkpoint: SignedCheckpoint) -> None: ...


SignatureCheck = Callable[[bytes, bytes], bool]  # (message, signature) -> valid?


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str  # canonical: the very string that was hashed
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    leaf_hash: bytes | None


@dataclass(frozen=True, slots=True)
class Proof:
    first: int  # the leaf index (inclusion) or the older size (consistency)
    size: int  # the tree size the proof is against
    hashes: list[bytes]


# --------------------------------------------------------------------------- checkpoints


def sign_checkpoint(
    signer: CheckpointSigner, checkpoint: Checkpoint, at: datetime
) -> SignedCheckpoint:
    body = checkpoint.body()
    signature = signer.sign(body.encode())
    note = signed_note(body, [NoteSignature(signer.key_name, signer.key_id, signature)])
    return SignedCheckpoint(
        origin=checkpoint.origin,
        size=checkpoint.size,
        root_hash=checkpoint.root_hash,
        key_id=signer.key_id.hex(),
        signature=signature,
        note=note,
        at=at,
    )


def issue_checkpoint(
    uow: UnitOfWork,
    *,
    signer: CheckpointSigner,
    witness: CheckpointWitness,
    signature_ok: SignatureCheck,
    at: datetime,
) -> SignedCheckpoint | None:
    """Sign the current tree if it grew since the last checkpoint. The new root must extend the
    last signed one (a consistency proof over the stored tree), or nothing is signed. The
    checkpoint goes to the witness file first, then the database: the witness never lacks a
    checkpoint that the database has."""
    with uow:
        tree = uow.audit.tree
        size = uow.audit.size()
        last = tree.latest_checkpoint()
        if size == 0 or (last is not None and last.size >= size):
            return None
        keys = set(merkle.Frontier.keys(size))
        if last is not None:
            keys |= merkle.nodes_for(merkle.consistency_ranges(last.size, size))
        try:
            nodes = tree.require(keys)
        except LookupError as exc:
            raise AuditLogCorrupt(f"cannot sign the audit log: {exc}") from None
        root = merkle.range_hash(0, size, nodes)
        if last is not None:
            _check_extends(last, size, root, nodes, signer, signature_ok)
        checkpoint = sign_checkpoint(signer, Checkpoint(signer.key_name, size, root), at)
        witness.append(checkpoint)
        tree.add_checkpoint(checkpoint)
        uow.commit()
        return checkpoint


def _check_extends(
    last: SignedCheckpoint,
    size: int,
    root: bytes,
    nodes: dict[merkle.NodeKey, bytes],
    signer: CheckpointSigner,
    signature_ok: SignatureCheck,
) -> None:
    try:
        text, signatures = parse_note(last.note)
        signed = parse_body(text)
    except MalformedCheckpoint as exc:
        raise AuditLogCorrupt(
            f"the latest checkpoint (size {last.size}) is malformed: {exc}"
        ) from None
    ours = [s for s in signatures if s.key_id == signer.key_id]
    if (
        signed.size != last.size
        or signed.origin != signer.key_name
        or not any(signature_ok(text.encode(), s.signature) for s in ours)
    ):
        raise AuditLogCorrupt(f"the latest checkpoint (size {last.size}) is not validly signed")
    proof = merkle.consistency_proof(last.size, size, nodes)
    if not merkle.verify_consistency(last.size, size, signed.root_hash, root, proof):
        raise AuditLogCorrupt(
            f"the stored audit tree does not extend the checkpoint of size {last.size}: "
            "refusing to sign; run `thawgate audit verify`"
        )


# --------------------------------------------------------------------------- reads


def authorize_read_in(uow: UnitOfWork, env: Env, actor: Principal) -> None:
    """`read_audit` on the `audit` resource, inside the caller's open unit of work (the audit
    reads here, and the console's audit page and dashboard)."""
    authorize(
        uow,
        env,
        principal=actor,
        action="read_audit",
        subject="audit",
        resource=SystemResource(name="audit"),
    )


def authorize_read(uow: UnitOfWork, env: Env, *, actor: Principal) -> None:
    """For reads that need no database beyond the check itself (the public key)."""
    with uow:
        authorize_read_in(uow, env, actor)


def read_events(
    uow: UnitOfWork, env: Env, *, actor: Principal, from_seq: int, limit: int
) -> list[AuditEntry]:
    if from_seq < 0 or not 1 <= limit <= EVENTS_MAX:
        raise ValidationFailed(f"from_seq >= 0 and 1 <= limit <= {EVENTS_MAX}", field="limit")
    with uow:
        authorize_read_in(uow, env, actor)
        events = uow.audit.list(from_seq=from_seq, limit=limit)
        leaves = uow.audit.tree.nodes((0, e.seq) for e in events)
    return [
        AuditEntry(
            e.seq, canonical_at(e.at), e.actor, e.action, e.subject, e.data, leaves.get((0, e.seq))
        )
        for e in events
    ]


def read_checkpoint(uow: UnitOfWork, env: Env, *, actor: Principal) -> SignedCheckpoint:
    with uow:
        authorize_read_in(uow, env, actor)
        latest = uow.audit.tree.latest_checkpoint()
    if latest is None:
        raise NotFound("no checkpoint has been signed yet")
    return latest


def inclusion_proof(
    uow: UnitOfWork, env: Env, *, actor: Principal, seq: int, size: int | None
) -> Proof:
    """The proof that event `seq` is in the tree of `size` events (default: the latest
    checkpoint's size, so the proof checks against a signed root)."""
    with uow:
        authorize_read_in(uow, env, actor)
        head, tree_size, nodes = uow.audit.tree.inclusion_read(seq, size)
    if size is not None and not 0 < size <= head:
        raise ValidationFailed(f"size: the log holds {head} events", field="size")
    if not 0 <= seq < tree_size:
        raise ValidationFailed(f"seq: {seq} is not in a tree of {tree_size} events", field="seq")
    try:
        return Proof(seq, tree_size, merkle.inclusion_proof(seq, tree_size, nodes))
    except KeyError as missing:
        raise AuditLogCorrupt(f"the stored audit tree lacks node {missing.args[0]}") from None


def consistency_proof(
    uow: UnitOfWork, env: Env, *, actor: Principal, first: int, second: int | None
) -> Proof:
    with uow:
        authorize_read_in(uow, env, actor)
        second = _size_or_latest(uow, second, name="to")
        if not 0 <= first <= second:
            raise ValidationFailed(f"from: {first} is not within 0..{second}", field="from")
        nodes = _nodes(uow, merkle.nodes_for(merkle.consistency_ranges(first, second)))
    return Proof(first, second, merkle.consistency_proof(first, second, nodes))


def _size_or_latest(uow: UnitOfWork, size: int | None, *, name: str) -> int:
    current = uow.audit.size()
    if size is None:
        latest = uow.audit.tree.latest_checkpoint()
        return latest.size if latest is not None else current
    if not 0 < size <= current:
        raise ValidationFailed(f"{name}: the log holds {current} events", field=name)
    return size


def _nodes(uow: UnitOfWork, keys: set[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    try:
        return uow.audit.tree.require(keys)
    except LookupError as exc:
        raise AuditLogCorrupt(str(exc)) from None
