"""Tampering with a copy of a real log, as someone with database access but neither the signing
key nor the witness file: every mutation inside the range a signed checkpoint covers is caught
by `audit verify`, which names the first bad sequence number."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.integration.audit_support import log_copy, make_log, size, verify, with_audit_key
from tests.integration.conftest import Clock

from thawgate.adapters.db.tables import audit_checkpoints, audit_events, audit_head, audit_nodes
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.bootstrap import App
from thawgate.domain import merkle
from thawgate.domain.audit_event import (
    canonical_at,
    canonical_event,
    canonical_json,
    event_leaf_hash,
)
from thawgate.domain.checkpoint import Checkpoint, NoteSignature, key_id, signed_note
from thawgate.domain.model import Principal
from thawgate.services import audit_log
from thawgate.services.audit_log import AuditLogCorrupt

Mutation = Callable[[sa.Connection, int], None]
SHIFT = 1_000_000


@pytest.fixture
def audited(loaded: App, tmp_path: Path) -> App:
    return with_audit_key(loaded, tmp_path)


def _row(conn: sa.Connection, seq: int) -> dict[str, Any]:
    row = conn.execute(sa.select(audit_events).where(audit_events.c.seq == seq)).one()
    return dict(row._mapping)


def _set(conn: sa.Connection, at_seq: int, **values: object) -> None:
    conn.execute(sa.update(audit_events).where(audit_events.c.seq == at_seq).values(**values))


def _shift(conn: sa.Connection, first: int, by: int) -> None:
    """Renumber events from `first` on by `by`, in two steps so keys never collide."""
    seq = audit_events.c.seq
    conn.execute(sa.update(audit_events).where(seq >= first).values(seq=seq + SHIFT))
    conn.execute(sa.update(audit_events).where(seq >= SHIFT).values(seq=seq - SHIFT + by))


# --------------------------------------------------------------------------- the mutations


def edit(field: str) -> Mutation:
    def mutate(conn: sa.Connection, k: int) -> None:
        row = _row(conn, k)
        changed: dict[str, object] = {
            "actor": "mallory",
            "action": row["action"] + ":undone",
            "subject": row["subject"] + "x",
            "at": row["at"] + timedelta(microseconds=1),
            "data": {**row["data"], "status": "executed"},
            "data-drop": {
                key: v for key, v in row["data"].items() if key != sorted(row["data"])[0]
            },
        }
        _set(conn, k, **{field.removesuffix("-drop"): changed[field]})

    return mutate


def delete(conn: sa.Connection, k: int) -> None:
    conn.execute(sa.delete(audit_events).where(audit_events.c.seq == k))


def reorder(conn: sa.Connection, k: int) -> None:
    a, b = _row(conn, k), _row(conn, k + 1)
    _set(conn, k, **{c: b[c] for c in ("at", "actor", "action", "subject", "data")})
    _set(conn, k + 1, **{c: a[c] for c in ("at", "actor", "action", "subject", "data")})


def truncate(conn: sa.Connection, k: int) -> None:
    conn.execute(sa.delete(audit_events).where(audit_events.c.seq >= k))


def insert(conn: sa.Connection, k: int) -> None:
    forged = {**_row(conn, k), "actor": "mallory", "action": "restriction:lifted"}
    _shift(conn, k, 1)
    conn.execute(sa.insert(audit_events).values(**forged))


def move(conn: sa.Connection, k: int) -> None:
    """Edit the sequence number itself: the event leaves its place for the end."""
    top = conn.execute(sa.select(sa.func.max(audit_events.c.seq))).scalar_one()
    _set(conn, k, seq=top + 1)


MUTATIONS: dict[str, Mutation] = {
    **{f"edit {f}": edit(f) for f in ("actor", "action", "subject", "at", "data", "data-drop")},
    "delete a row": delete,
    "reorder two rows": reorder,
    "truncate": truncate,
    "insert a row": insert,
    "edit seq": move,
}
STRUCTURAL = ("edit data", "delete a row", "reorder two rows", "truncate", "insert a row")


# --------------------------------------------------------------------------- recomputing


def recompute(conn: sa.Connection, checkpoints: str) -> None:
    """Make the copy self-consistent without the key: renumber, rehash every leaf and node,
    reset the head, and then keep, drop or re-sign (with a key of one's own) the checkpoints."""
    rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).all()
    for index, r in enumerate(rows):
        if r.seq != index:
            _set(conn, r.seq, seq=index)
    frontier, nodes = merkle.Frontier(), []
    for index, r in enumerate(rows):
        data = canonical_json(r.data)
        leaf = event_leaf_hash(index, canonical_at(r.at), r.actor, r.action, r.subject, data)
        nodes += [{"level": lv, "position": p, "hash": h} for lv, p, h in frontier.append(leaf)]
    conn.execute(sa.delete(audit_nodes))
    conn.execute(sa.insert(audit_nodes), nodes)
    conn.execute(sa.update(audit_head).values(next_seq=len(rows)))
    if checkpoints == "drop":
        conn.execute(sa.delete(audit_checkpoints))
    elif checkpoints == "forge":
        _forge_checkpoints(conn, {(lv, p): h for lv, p, h in _as_tuples(nodes)}, len(rows))


def _as_tuples(nodes: list[dict[str, Any]]) -> list[tuple[int, int, bytes]]:
    return [(n["level"], n["position"], n["hash"]) for n in nodes]


def _forge_checkpoints(conn: sa.Connection, nodes: dict[merkle.NodeKey, bytes], n: int) -> None:
    mine = Ed25519PrivateKey.generate()
    public = mine.public_key().public_bytes_raw()
    sizes = [s for (s,) in conn.execute(sa.select(audit_checkpoints.c.size))]
    conn.execute(sa.delete(audit_checkpoints))
    for s in (s for s in sizes if s <= n):
        root = merkle.range_hash(0, s, nodes)
        body = Checkpoint("test.thawgate/audit", s, root).body()
        sig = mine.sign(body.encode())
        kid = key_id("test.thawgate/audit", public)
        note = signed_note(body, [NoteSignature("test.thawgate/audit", kid, sig)])
        conn.execute(
            sa.insert(audit_checkpoints).values(
                size=s,
                origin="test.thawgate/audit",
                root_hash=root,
                key_id=kid.hex(),
                signature=sig,
                note=note,
                at=datetime.now(UTC),
            )
        )


# --------------------------------------------------------------------------- the run


def test_every_mutation_within_a_signed_range_is_caught_and_named(
    audited: App, clock: Clock, tmp_path: Path
) -> None:
    sizes = make_log(audited, clock)
    assert verify(audited).ok
    covered = sizes[-1]
    assert size(audited) > covered  # an unsigned tail exists, and is left alone
    positions = [0, covered // 2 + 1, covered - 2]
    cases: list[tuple[str, int, str | None]] = [
        (name, k, None) for name in MUTATIONS for k in positions
    ]
    cases += [
        (name, positions[1], how)
        for name in STRUCTURAL
        for how in ("keep", "drop", "forge")  # what the attacker does with the checkpoints
    ]
    tried = missed = misnamed = 0
    for name, k, how in cases:
        with log_copy(audited, tmp_path) as copy:
            with copy.begin() as conn:
                MUTATIONS[name](conn, k)
                if how is not None:
                    recompute(conn, how)
            report = verify(audited, copy)
            # read in many small batches (on PostgreSQL by several threads), the same verdict
            small = verify(audited, copy, batch=16)
        tried += 1
        if (small.ok, small.first_bad_seq) != (report.ok, report.first_bad_seq):
            misnamed += 1
            print(f"{name} at {k} ({how}): batches of 16 named {small.first_bad_seq}")  # noqa: T201
        if report.ok:
            missed += 1
            continue
        # a leaf that no longer matches its stored hash is named exactly; once every hash is
        # recomputed, the first event after the last checkpoint that still verifies is
        expected = (
            k if how is None or name == "truncate" else max([0, *(s for s in sizes if s <= k)])
        )
        if report.first_bad_seq != expected:
            misnamed += 1
            print(f"{name} at {k} ({how}): named {report.first_bad_seq}, not {expected}")  # noqa: T201
    print(f"tamper: {tried} mutations tried, {missed} missed, {misnamed} misnamed")  # noqa: T201
    assert (tried, missed, misnamed) == (len(cases), 0, 0)


def test_rewriting_the_unsigned_tail_is_what_the_next_checkpoint_is_for(
    audited: App, clock: Clock, tmp_path: Path
) -> None:
    """The honest limit: events after the last checkpoint are covered by nothing signed yet, so
    a rewrite there that also recomputes the hashes is not caught. Checkpoints follow every
    executed plan within a second, which keeps that window short."""
    sizes = make_log(audited, clock, rounds=2, tail=5)
    with log_copy(audited, tmp_path) as copy:
        with copy.begin() as conn:
            edit("actor")(conn, sizes[-1] + 1)
            recompute(conn, "keep")
        assert verify(audited, copy).ok
        with copy.begin() as conn:
            edit("actor")(conn, sizes[-1] + 2)  # without recomputing: caught all the same
        assert verify(audited, copy).first_bad_seq == sizes[-1] + 2


def test_stored_text_is_hashed_as_it_stands_and_only_its_value_counts(
    audited: App, clock: Clock, tmp_path: Path
) -> None:
    """Verification hashes each event's stored `data` text as it stands (the fast path). Text
    that spells the same value another way (not canonical) yields the leaf it was signed as once
    canonicalized, and the export carries the canonical bytes; a changed value spelled that way,
    with every stored hash recomputed over the very bytes stored, is caught by the signed root."""
    sizes = make_log(audited, clock, rounds=2, tail=1)
    k = (sizes[0] + sizes[-1]) // 2  # inside the range the second checkpoint adds
    with log_copy(audited, tmp_path) as copy:
        with copy.connect() as conn:
            [original] = conn.execute(
                sa.select(sa.cast(audit_events.c.data, sa.Text)).where(audit_events.c.seq == k)
            ).one()
        value = json.loads(original)
        respelled = json.dumps(value, indent=1)
        assert respelled != original
        assert json.loads(respelled) == value
        with copy.begin() as conn:
            _set_text(conn, k, respelled)
        report = verify(audited, copy)
        assert report.ok, report.problems
        with UnitOfWork(copy) as uow:
            [(_, body, _, _)] = uow.audit.tree.stored_events(k, k + 1)
        assert json.loads(body)["data"] == value
        assert canonical_json(value) in body.decode()
        with copy.begin() as conn:  # a changed value, non-canonical, hashed as stored
            forged = json.dumps({**value, "forged": True}, indent=1)
            _set_text(conn, k, forged)
            row = _row(conn, k)
            at, who = canonical_at(row["at"]), (row["actor"], row["action"], row["subject"])
            conn.execute(
                sa.update(audit_nodes)
                .where(audit_nodes.c.level == 0, audit_nodes.c.position == k)
                .values(hash=merkle.leaf_hash(canonical_event(k, at, *who, forged)))
            )
            recompute_interior(conn)
        report = verify(audited, copy)
        assert not report.ok
        assert report.first_bad_seq == max(s for s in sizes if s <= k)


def _set_text(conn: sa.Connection, seq: int, text: str) -> None:
    """Store `data` as exactly this text (on PostgreSQL a `json` column keeps it verbatim)."""
    cast = "CAST(:text AS JSON)" if conn.dialect.name == "postgresql" else ":text"
    conn.execute(
        sa.text(f"UPDATE audit_events SET data = {cast} WHERE seq = :seq"),  # noqa: S608
        {"text": text, "seq": seq},
    )


def recompute_interior(conn: sa.Connection) -> None:
    """Rebuild every node above the stored leaves, as they stand."""
    leaves = (
        conn.execute(
            sa.select(audit_nodes.c.hash)
            .where(audit_nodes.c.level == 0)
            .order_by(audit_nodes.c.position)
        )
        .scalars()
        .all()
    )
    frontier, nodes = merkle.Frontier(), []
    for leaf in leaves:
        nodes += [
            {"level": lv, "position": p, "hash": h} for lv, p, h in frontier.append(bytes(leaf))
        ]
    conn.execute(sa.delete(audit_nodes))
    conn.execute(sa.insert(audit_nodes), nodes)


def test_a_proof_over_a_stored_tree_missing_a_node_is_refused_as_corrupt(
    audited: App, clock: Clock, tmp_path: Path
) -> None:
    """No proof is served from a tree that lacks a node it needs: the log is reported corrupt."""
    n = make_log(audited, clock, rounds=2, tail=0)[-1]
    auditor = Principal(id="audrey", name="Audrey", team="compliance", roles=frozenset({"auditor"}))
    with log_copy(audited, tmp_path) as copy:
        with copy.begin() as conn:
            conn.execute(
                sa.delete(audit_nodes).where(audit_nodes.c.level == 0, audit_nodes.c.position == 1)
            )
        with pytest.raises(AuditLogCorrupt, match=r"lacks node \(0, 1\)"):
            audit_log.inclusion_proof(
                UnitOfWork(copy, readonly=True), audited.env, actor=auditor, seq=0, size=n
            )
        proof = audit_log.inclusion_proof(  # a leaf whose proof does not need it still has one
            UnitOfWork(copy, readonly=True), audited.env, actor=auditor, seq=n - 1, size=n
        )
        assert proof.size == n
