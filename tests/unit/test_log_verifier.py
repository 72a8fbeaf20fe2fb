"""The pure log verifier: checkpoints that are forged, split, missing from the witness or beyond
the log, and how precisely a failure names the first bad sequence number."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from thawgate.domain import merkle
from thawgate.domain.checkpoint import (
    Checkpoint,
    NoteSignature,
    SignedCheckpoint,
    key_id,
    signed_note,
)
from thawgate.domain.log_verifier import LogVerifier

ORIGIN = "unit.thawgate/audit"
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes_raw()
LEAVES = [merkle.leaf_hash(f"event {i}".encode()) for i in range(40)]


def signature_ok(message: bytes, signature: bytes) -> bool:
    try:
        KEY.public_key().verify(signature, message)
    except InvalidSignature:
        return False
    return True


def signed(
    size: int, *, key: Ed25519PrivateKey = KEY, root: bytes | None = None
) -> SignedCheckpoint:
    root = merkle.root_from_leaves(LEAVES[:size]) if root is None else root
    body = Checkpoint(ORIGIN, size, root).body()
    public = key.public_key().public_bytes_raw()
    signature = key.sign(body.encode())
    note = signed_note(body, [NoteSignature(ORIGIN, key_id(ORIGIN, public), signature)])
    return SignedCheckpoint(
        ORIGIN, size, root, key_id(ORIGIN, public).hex(), signature, note, datetime.now(UTC)
    )


def run(
    leaves: list[bytes],
    records: list[tuple[str, SignedCheckpoint]],
    stored: list[bytes] | None = None,
) -> LogVerifier:
    verifier = LogVerifier(
        origin=ORIGIN,
        public_key=PUBLIC,
        signature_ok=signature_ok,
        records=records,
        stored_tree=stored is not None,
    )
    for i, leaf in enumerate(leaves):
        verifier.add(i, leaf, None if stored is None else stored[i])
    verifier.finish()
    return verifier


def both(*sizes: int) -> list[tuple[str, SignedCheckpoint]]:
    return [(source, signed(s)) for s in sizes for source in ("database", "witness")]


def test_an_intact_log_verifies_with_its_checkpoints_consistent() -> None:
    report = run(LEAVES, both(5, 16, 33), stored=LEAVES).report
    assert report.ok, report.problems
    assert (report.size, report.checkpoints, report.covered) == (40, 3, 33)


def test_a_checkpoint_signed_by_another_key_counts_for_nothing() -> None:
    forged = signed(33, key=Ed25519PrivateKey.generate())
    report = run(LEAVES, [*both(16), ("database", forged)]).report
    assert not report.ok
    assert report.covered == 16
    assert any("no valid signature" in p.message for p in report.problems)


def test_two_signed_roots_for_one_size_are_a_split_view() -> None:
    other = signed(16, root=merkle.leaf_hash(b"another history"))
    report = run(LEAVES, [*both(16), ("witness", other)]).report
    assert any("split view" in p.message for p in report.problems)


def test_a_database_checkpoint_the_witness_never_saw_is_reported() -> None:
    report = run(LEAVES, [*both(16), ("database", signed(20))]).report
    assert [p.message for p in report.problems] == [
        "the checkpoint of size 20 is in the database, not the witness file"
    ]
    assert run(LEAVES, [*both(16), ("witness", signed(20))]).report.ok  # witness first is fine
    empty = run(LEAVES, [("database", signed(16))]).report
    assert "missing or empty" in empty.problems[0].message


def test_a_checkpoint_beyond_the_log_means_events_were_deleted() -> None:
    report = run(LEAVES[:30], both(16, 33)).report
    assert report.first_bad_seq == 30
    assert "deleted" in report.problems[0].message


def test_with_the_stored_leaves_still_signed_the_exact_event_is_named() -> None:
    changed = list(LEAVES)
    changed[21] = merkle.leaf_hash(b"rewritten")
    precise = run(changed, both(16, 33), stored=LEAVES).report
    assert precise.first_bad_seq == 21
    recomputed = run(changed, both(16, 33), stored=changed).report  # the hashes rewritten too
    assert recomputed.first_bad_seq == 16  # the first event after the last good checkpoint
    offline = run(changed, both(16, 33)).report  # an export carries no stored hashes
    assert offline.first_bad_seq == 16


def test_a_partly_recomputed_tree_does_not_narrow_the_range() -> None:
    changed, stored = list(LEAVES), list(LEAVES)
    changed[18] = stored[18] = merkle.leaf_hash(b"rewritten, and its hash too")
    changed[25] = merkle.leaf_hash(b"rewritten alone")
    report = run(changed, both(16, 33), stored=stored).report
    assert report.first_bad_seq == 16  # 18 is bad too, and only the range can say so


def _batched(
    seqs: list[int], leaves: list[bytes], stored: list[bytes | None], *sizes: int
) -> tuple[LogVerifier, LogVerifier]:
    """The same events fed one by one (`add`) and in batches (`add_stored`)."""
    one, batched = (
        LogVerifier(
            origin=ORIGIN,
            public_key=PUBLIC,
            signature_ok=signature_ok,
            records=both(*sizes),
            stored_tree=True,
        )
        for _ in range(2)
    )
    events = list(zip(seqs, [b""] * len(seqs), leaves, stored, strict=True))
    for seq, _, leaf, stored_leaf in events:
        one.add(seq, leaf, stored_leaf)
    for i in range(0, len(events), 7):
        batched.add_stored(events[i : i + 7])
    assert batched.take_nodes() == one.take_nodes()  # the same interior nodes recomputed
    one.finish()
    batched.finish()
    return one, batched


@pytest.mark.parametrize(
    "case",
    ["intact", "a leaf rewritten", "its stored hash too", "a gap", "a stored leaf missing"],
)
def test_feeding_a_batch_judges_exactly_as_feeding_each_event(case: str) -> None:
    seqs, leaves, stored = list(range(40)), list(LEAVES), list[bytes | None](LEAVES)
    if case == "a leaf rewritten":
        leaves[21] = merkle.leaf_hash(b"rewritten")
    elif case == "its stored hash too":
        leaves[21] = stored[21] = merkle.leaf_hash(b"rewritten")
    elif case == "a gap":
        seqs = [*range(10), *range(11, 41)]
    elif case == "a stored leaf missing":
        stored[30] = None
    one, batched = _batched(seqs, leaves, stored, 5, 16, 33)
    assert batched.report == one.report
    assert batched.report.ok == (case == "intact")
