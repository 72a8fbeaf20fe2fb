"""Verifying the audit log: pure, fed one leaf at a time, so one code path checks the database
and an offline export alike.

What it checks:
- sequence numbers run 0, 1, 2, ... with no gap, and each recomputed leaf equals the stored one;
- every checkpoint (from the database and from the witness file) is a well-formed signed note,
  signed by the expected key for the expected origin;
- the tree recomputed from the leaves has, at each checkpoint's size, that checkpoint's root;
- successive checkpoints are consistent (an RFC 9162 consistency proof over the recomputed tree);
- the witness file and the database agree, and no checkpoint covers more events than exist.

A problem names the first sequence number it puts in doubt. When a leaf is known to differ, that
is the leaf. When only a signed root disagrees (someone rewrote events *and* every stored hash),
it is the first event after the last checkpoint that still verifies: the rewrite is somewhere in
that checkpoint's range, which is as precise as a root can be.
"""

from __future__ import annotations

import hmac
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from thawgate.domain import merkle
from thawgate.domain.checkpoint import (
    MalformedCheckpoint,
    SignedCheckpoint,
    key_id,
    parse_body,
    parse_note,
    verifier_key,
)

MAX_PROBLEMS = 50
DRAIN_AT = 50_000  # interior nodes held before the few that proofs need are picked out


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None  # the first sequence number in doubt; None when no event is implicated
    message: str


@dataclass
class Report:
    size: int = 0
    checkpoints: int = 0  # distinct valid checkpoints checked against the log
    covered: int = 0  # events covered by the largest checkpoint that verified
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False  # more problems were found than are listed
    key: str = ""  # the verifier key whose signatures were accepted

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        seqs = [p.seq for p in self.problems if p.seq is not None]
        return min(seqs) if seqs else None

    def add(self, seq: int | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, message))
        else:
            self.truncated = True


SignatureCheck = Callable[[bytes, bytes], bool]  # (message, signature) -> valid?


class LogVerifier:
    """`add` every leaf in order, then `finish`.

    With `stored_tree`, each leaf comes with the stored leaf hash at its position, and the
    recomputed interior nodes are kept for the caller to compare with the stored ones
    (`take_nodes`). The stored leaves also sharpen the diagnosis: when a signed root fails
    but the *stored* leaves still hash to it, those are the leaves that were signed, and the
    first one that differs from its event is exactly the first bad event.
    """

    def __init__(
        self,
        *,
        origin: str,
        public_key: bytes,
        signature_ok: SignatureCheck,
        records: Iterable[tuple[str, SignedCheckpoint]],
        stored_tree: bool = False,
    ) -> None:
        self.origin = origin
        self.key_id = key_id(origin, public_key)
        self.report = Report(key=verifier_key(origin, public_key))
        self.roots = self._signed_roots(list(records), signature_ok)
        if self.roots.pop(0, merkle.EMPTY_ROOT) != merkle.EMPTY_ROOT:
            self.report.add(None, "a signed checkpoint of the empty log has a non-empty root")
        self._sizes = sorted(self.roots)
        self._next = 0  # index into _sizes of the next checkpoint to reach
        self._verified_size = 0
        self._frontier = merkle.Frontier()
        self._wanted = merkle.nodes_for(
            r for a, b in itertools.pairwise(self._sizes) for r in merkle.consistency_ranges(a, b)
        )
        self._wanted_leaves = {position for level, position in self._wanted if level == 0}
        self._proof_nodes: dict[merkle.NodeKey, bytes] = {}
        self._stored_tree = stored_tree
        self._kept: dict[merkle.NodeKey, bytes] = {}  # interior nodes since the last drain
        self._mismatched: set[int] = set()
        # The stored leaves' own tree, forked from the recomputed one where they first differ.
        self._stored: merkle.Frontier | None = None
        self._stored_usable = True
        self._differing: list[int] = []  # indexes whose stored leaf is not the recomputed one

    # -- checkpoints ------------------------------------------------------------------------

    def _signed_roots(
        self, records: list[tuple[str, SignedCheckpoint]], signature_ok: SignatureCheck
    ) -> dict[int, bytes]:
        roots: dict[int, bytes] = {}
        witnessed: set[tuple[int, bytes]] = set()
        in_database: list[tuple[int, bytes]] = []
        for source, record in records:
            checked = self._check_record(source, record, signature_ok)
            if checked is None:
                continue
            size, root = checked
            if size in roots and roots[size] != root:
                self.report.add(
                    None, f"two validly signed checkpoints of size {size} differ (a split view)"
                )
            roots.setdefault(size, root)
            if source == "witness":
                witnessed.add((size, root))
            else:
                in_database.append((size, root))
        if in_database and not witnessed:
            self.report.add(None, "the witness file holds no checkpoint: it is missing or empty")
        for size, root in in_database if witnessed else []:
            if (size, root) not in witnessed:
                self.report.add(
                    None, f"the checkpoint of size {size} is in the database, not the witness file"
                )
        return roots

    def _check_record(
        self, source: str, record: SignedCheckpoint, signature_ok: SignatureCheck
    ) -> tuple[int, bytes] | None:
        where = f"{source} checkpoint of size {record.size}"
        try:
            text, signatures = parse_note(record.note)
            checkpoint = parse_body(text)
        except MalformedCheckpoint as exc:
            self.report.add(None, f"{where}: malformed note: {exc}")
            return None
        if checkpoint.origin != self.origin:
            self.report.add(None, f"{where}: origin {checkpoint.origin!r}, not {self.origin!r}")
            return None
        ours = [s for s in signatures if s.key_name == self.origin and s.key_id == self.key_id]
        if not ours or not any(signature_ok(text.encode(), s.signature) for s in ours):
            self.report.add(None, f"{where}: no valid signature by key {self.key_id.hex()}")
            return None
        stored = (record.origin, record.size, record.root_hash, record.signature, record.key_id)
        signed = (checkpoint.origin, checkpoint.size, checkpoint.root_hash, ours[0].signature)
        if stored != (*signed, self.key_id.hex()):
            self.report.add(None, f"{where}: the fields stored beside the note differ from it")
        return checkpoint.size, checkpoint.root_hash

    # -- leaves -----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """How many leaves have been added."""
        return self._frontier.size

    def add(self, seq: int, leaf: bytes, stored_leaf: bytes | None = None) -> None:
        """The next event's sequence number, its recomputed leaf hash, and (with a stored tree)
        the stored leaf hash at this position."""
        index = self._frontier.size
        if seq != index:
            self.report.add(index, f"expected sequence number {index}, found {seq}")
        if self._stored_tree and (stored_leaf != leaf or self._stored is not None):
            self._compare_leaf(index, leaf, stored_leaf)
        if index in self._wanted_leaves:
            self._proof_nodes[(0, index)] = leaf
        self._frontier.append_into(leaf, self._kept)
        if len(self._kept) >= DRAIN_AT and not self._stored_tree:
            self._drain()
        if self._next < len(self._sizes) and self._sizes[self._next] == index + 1:
            self._reach_checkpoint(index + 1)

    def add_stored(self, events: Iterable[tuple[int, object, bytes, bytes | None]]) -> None:
        """`add` for each `(seq, _, leaf, stored leaf)` in order, as the database verification
        reads them: the common case (the expected sequence number, the stored leaf equal to
        the recomputed one, no fork, no proof node and no checkpoint at that position) in a
        tight loop, and anything else through `add`."""
        frontier, kept = self._frontier, self._kept
        append_into, special = frontier.append_into, self._wanted_leaves
        sizes, add = self._sizes, self.add
        for seq, _, leaf, stored in events:
            index = frontier.size
            if (
                seq != index
                or stored != leaf
                or self._stored is not None
                or index in special
                or (self._next < len(sizes) and sizes[self._next] == index + 1)
            ):
                add(seq, leaf, stored)
                kept = self._kept  # `add` may have drained it
            else:
                append_into(leaf, kept)

    def _compare_leaf(self, index: int, leaf: bytes, stored_leaf: bytes | None) -> None:
        if stored_leaf is None:
            self.report.add(index, f"event {index} has no stored leaf hash")
            self._stored_usable = False
        elif not hmac.compare_digest(leaf, stored_leaf):
            self.report.add(index, f"event {index} does not hash to its stored leaf hash")
            if len(self._differing) < MAX_PROBLEMS:
                self._differing.append(index)
            if self._stored is None:
                self._stored = self._frontier.copy()
        if self._stored is not None and self._stored_usable:
            self._stored.append(stored_leaf or leaf)

    def _reach_checkpoint(self, size: int) -> None:
        self._next += 1
        if hmac.compare_digest(self._frontier.root(), self.roots[size]):
            self._verified_size = size
            self.report.covered = size
            return
        self._mismatched.add(size)
        start = self._verified_size
        self.report.add(
            self._first_bad_within(start, size),
            f"events {start}..{size - 1} do not hash to the signed checkpoint of size {size}: "
            "they were changed, deleted, reordered or inserted after it was signed",
        )

    def _first_bad_within(self, start: int, size: int) -> int:
        """The first event in doubt in [start, size): exactly the first differing leaf when the
        stored leaves are the signed ones; otherwise, all that a root can say, `start`."""
        signed_leaves = (
            self._stored is not None
            and self._stored_usable
            and hmac.compare_digest(self._stored.root(), self.roots[size])
        )
        inside = [i for i in self._differing if start <= i < size]
        return inside[0] if signed_leaves and inside else start

    def take_nodes(self) -> dict[merkle.NodeKey, bytes]:
        """The interior nodes completed since the last call."""
        return self._drain()

    def _drain(self) -> dict[merkle.NodeKey, bytes]:
        kept, self._kept = self._kept, {}
        self._proof_nodes.update({k: kept[k] for k in self._wanted if k in kept})
        return kept

    # -- the end ----------------------------------------------------------------------------

    def finish(self) -> Report:
        self._drain()
        size = self._frontier.size
        self.report.size = size
        beyond = [s for s in self._sizes if s > size]
        if beyond:
            self.report.add(
                size,
                f"the log holds {size} events, but a checkpoint of size {max(beyond)} was signed: "
                f"events from {size} on were deleted",
            )
        self._check_consistency([s for s in self._sizes if s <= size])
        self.report.checkpoints = len([s for s in self._sizes if s <= size])
        return self.report

    def _check_consistency(self, sizes: list[int]) -> None:
        for old, new in itertools.pairwise(sizes):
            if old in self._mismatched or new in self._mismatched:
                continue  # already reported against the log itself
            proof = merkle.consistency_proof(old, new, self._proof_nodes)
            if not merkle.verify_consistency(old, new, self.roots[old], self.roots[new], proof):
                self.report.add(old, f"checkpoints {old} and {new} are not consistent")
