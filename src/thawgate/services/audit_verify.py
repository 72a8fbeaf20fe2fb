"""Verifying the audit log (in the database, or an export with no database) and exporting it.

Reading order matters while the log keeps growing: the database's checkpoints first, then the
witness file, then the events. The witness is written before the database, so every checkpoint
read from the database is already in the witness; and every checkpoint read from either covers
only events that exist by the time the events are read.
"""

from __future__ import annotations

import base64
import binascii
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import TypeAlias, TypeVar

from thawgate.adapters.audit.export_dir import ExportReader, ExportWriter
from thawgate.adapters.audit.signer import signature_check
from thawgate.adapters.audit.witness import parse_lines
from thawgate.adapters.db.audit_tree import AuditTree, NodeRuns, StoredEvent
from thawgate.adapters.db.uow import UnitOfWork
from thawgate.domain import merkle
from thawgate.domain.checkpoint import (
    ED25519_KEY_SIZE,
    MalformedCheckpoint,
    SignedCheckpoint,
    key_id,
    parse_verifier_key,
    verifier_key,
)
from thawgate.domain.log_verifier import LogVerifier, Report

WitnessRead = Callable[[], tuple[list[SignedCheckpoint], list[str]]]
UowFactory = Callable[[], UnitOfWork]
BATCH = 20_000
READERS = 3  # threads reading ahead on PostgreSQL, each on a connection of its own
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """Whose signatures count: the log's origin (the key's name) and its Ed25519 public key."""

    origin: str
    public_key: bytes

    @classmethod
    def parse(cls, text: str, *, origin: str | None = None) -> TrustedKey:
        """A C2SP verifier key (`name+id+base64`), or a raw base64 key for `origin`."""
        try:
            if "+" in text:
                name, key = parse_verifier_key(text.strip())
                return cls(name, key)
            key = base64.b64decode(text.strip(), validate=True)
        except (MalformedCheckpoint, binascii.Error) as exc:
            raise ValueError(f"public key: {exc}") from None
        if len(key) != ED25519_KEY_SIZE or origin is None:
            raise ValueError("public key: a verifier key, or 32 bytes of base64 with an origin")
        return cls(origin, key)

    def document(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "key_id": key_id(self.origin, self.public_key).hex(),
            "algorithm": "ed25519",
            "public_key": base64.b64encode(self.public_key).decode(),
            "verifier_key": verifier_key(self.origin, self.public_key),
        }


def _verifier(
    key: TrustedKey, records: list[tuple[str, SignedCheckpoint]], *, stored_tree: bool
) -> LogVerifier:
    return LogVerifier(
        origin=key.origin,
        public_key=key.public_key,
        signature_ok=signature_check(key.public_key),
        records=records,
        stored_tree=stored_tree,
    )


# --------------------------------------------------------------------------- the database


def verify_database(
    uow: UowFactory, *, key: TrustedKey, read_witness: WitnessRead, batch: int = BATCH
) -> Report:
    """Recompute every leaf and the whole tree; compare them with the stored tree and with
    every checkpoint in the database and the witness file."""
    with uow() as tx:
        stored_checkpoints = tx.audit.tree.checkpoints()
    witnessed, witness_errors = read_witness()
    records = [("database", c) for c in stored_checkpoints] + [("witness", c) for c in witnessed]
    verifier = _verifier(key, records, stored_tree=True)
    for message in witness_errors:
        verifier.report.add(None, message)
    with uow() as tx:
        tree = tx.audit.tree
        batches = (
            _parallel_batches(uow, tree, batch)
            if tx.dialect == "postgresql"
            else _batches(tree, batch)
        )
        for chunk, by_position, stored_nodes in batches:
            if by_position is None:
                verifier.add_stored(chunk)
            else:
                start = verifier.size
                for i, (seq, _, leaf, _) in enumerate(chunk):
                    verifier.add(seq, leaf, by_position.get(start + i))
            _compare_nodes(verifier, verifier.take_nodes(), stored_nodes)
        report = verifier.finish()
        head = tx.audit.size()
        if head != report.size:
            report.add(
                min(head, report.size), f"the head counts {head} events, {report.size} are stored"
            )
        beyond = tree.nodes_beyond(report.size)
        if beyond:
            report.add(report.size, f"the stored tree has nodes past event {report.size - 1}")
    return report


_Batch: TypeAlias = tuple[
    list[StoredEvent], dict[int, bytes] | None, dict[merkle.NodeKey, bytes] | NodeRuns
]


def _batches(tree: AuditTree, batch: int) -> Iterator[_Batch]:
    """The stored events in batches, each with what verifying it compares against: the stored
    leaves by position (None when each event's own is the one at its position) and the stored
    interior nodes its leaves complete. All the reading happens here, none in the verifier's
    loop. (SQLite reads in this thread: there is no server process for a reader to overlap.)"""
    start = 0  # the position of the batch's first leaf: the verifier adds one leaf an event
    for chunk in tree.iter_stored_events(batch=batch):
        if not chunk:
            continue  # a whole batch of sequence numbers missing: the next one reports the gap
        end = start + len(chunk)
        # Sequence numbers ascend, so the chunk lines up with positions start.. exactly when
        # its ends do; if not (a row deleted, moved, inserted), read the leaves by position.
        aligned = chunk[0][0] == start and chunk[-1][0] == end - 1
        by_position = None if aligned else tree.leaves(start, end)
        runs = tree.interior_runs_completed(start, end)
        yield chunk, by_position, runs or tree.interior_nodes_completed(start, end)
        start = end


def _parallel_batches(
    uow: UowFactory, tree: AuditTree, batch: int, readers: int = READERS
) -> Iterator[_Batch]:
    """`_batches` on PostgreSQL, read ahead by `readers` threads on connections of their own,
    in order: while this thread hashes one batch, the server (a process of its own) works on
    the next ones and the drivers wait with the GIL released. The rows read are append-only,
    and each statement sees its own snapshot as it would on one connection (READ COMMITTED).
    `tree`'s connection stays with this thread, for the leaves by position of a batch that
    does not line up (a row deleted, moved or inserted)."""
    top = tree.last_seq()
    firsts = iter(range(0, -1 if top is None else top + 1, batch))

    def read(first: int) -> tuple[int, list[StoredEvent], NodeRuns | None]:
        with uow() as reading:
            chunk = reading.audit.tree.stored_events(first, first + batch)
            runs = reading.audit.tree.interior_runs_completed(first, first + len(chunk))
        return first, chunk, runs

    with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="audit-read") as pool:
        pending = deque(pool.submit(read, first) for first in islice(firsts, readers + 1))
        try:
            start = 0  # the position of the batch's first leaf
            while pending:
                first, chunk, runs = pending.popleft().result()
                following = next(firsts, None)
                if following is not None:
                    pending.append(pool.submit(read, following))
                if not chunk:
                    continue  # a whole batch of sequence numbers missing: the next one says so
                end = start + len(chunk)
                aligned = chunk[0][0] == start and chunk[-1][0] == end - 1
                by_position = None if aligned else tree.leaves(start, end)
                if not aligned or first != start or runs is None:
                    yield chunk, by_position, tree.interior_nodes_completed(start, end)
                else:
                    yield chunk, by_position, runs
                start = end
        finally:
            for future in pending:
                future.cancel()


def _read_ahead(items: Iterator[_T]) -> Iterator[_T]:
    """`items`, each read by a thread while the caller works on the one before: the database's
    work and the wire, during which the drivers release the GIL, overlap the hashing. The
    caller touches the connection only once this is exhausted or closed."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-read") as reader:
        ahead = reader.submit(next, items, None)
        try:
            while (item := ahead.result()) is not None:
                ahead = reader.submit(next, items, None)
                yield item
        finally:
            if not ahead.cancel():
                ahead.exception()  # let the read in flight end before the caller goes on


def _compare_nodes(
    verifier: LogVerifier,
    recomputed: dict[merkle.NodeKey, bytes],
    stored: dict[merkle.NodeKey, bytes] | NodeRuns,
) -> None:
    if isinstance(stored, NodeRuns):
        if stored.matches(recomputed):
            return
        stored = stored.nodes()
    if recomputed == stored:
        return
    for key in sorted(recomputed.keys() | stored.keys(), key=lambda k: k[1] << k[0]):
        if recomputed.get(key) != stored.get(key):
            level, position = key
            first, last = position << level, ((position + 1) << level) - 1
            verifier.report.add(
                None, f"stored tree node {key}, over events {first}..{last}, is not their hash"
            )


def export_log(
    uow: UowFactory,
    *,
    writer: ExportWriter,
    key: TrustedKey,
    witness_lines: Callable[[], list[str]],
) -> int:
    """Write the log, its checkpoints, the witness file and the public key. Returns the number
    of events written."""
    with uow() as tx:
        checkpoints = tx.audit.tree.checkpoints()
    witness = witness_lines()
    with uow() as tx:
        chunks = tx.audit.tree.iter_stored_events()
        if tx.dialect == "postgresql":
            chunks = _read_ahead(chunks)
        for chunk in chunks:
            writer.add_events(canonical for _, canonical, _, _ in chunk)
    writer.finish(checkpoints=checkpoints, witness_lines=witness, public_key=key.document())
    return writer.events


# --------------------------------------------------------------------------- an export


def verify_export(reader: ExportReader, *, pinned: TrustedKey | None = None) -> Report:
    """Verify an export with no database: each line's bytes are the leaf's JCS input."""
    shipped, problem = _shipped_key(reader)
    key = pinned or shipped
    stored, stored_errors = parse_lines(reader.checkpoint_lines(), "checkpoints.jsonl")
    witnessed, witness_errors = parse_lines(reader.witness_lines(), "witness.jsonl")
    records = [("database", c) for c in stored] + [("witness", c) for c in witnessed]
    if key is None:
        report = Report()
        report.add(None, problem or "no public key to verify against")
        return report
    verifier = _verifier(key, records, stored_tree=False)
    if pinned is not None and shipped is not None and shipped != pinned:
        verifier.report.add(None, "the export's public key is not the one pinned")
    elif problem:
        verifier.report.add(None, problem)
    for message in stored_errors + witness_errors:
        verifier.report.add(None, message)
    leaf_hash = merkle.leaf_hash
    for seq, line in reader.events():
        verifier.add(seq, leaf_hash(line))
    report = verifier.finish()
    if report.size and not report.checkpoints:
        report.add(None, "no signed checkpoint covers any event of this export: it proves nothing")
    return report


def _shipped_key(reader: ExportReader) -> tuple[TrustedKey | None, str | None]:
    doc = reader.public_key()
    try:
        return TrustedKey.parse(str(doc.get("verifier_key", ""))), None
    except ValueError as exc:
        return None, f"public_key.json: {exc}"
