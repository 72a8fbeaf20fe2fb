"""RFC 6962 / RFC 9162 Merkle-tree hashing, proofs and their verifiers. Pure standard library.

Leaves are numbered from 0. A *node* `(level, position)` is the complete subtree over leaves
`[position * 2**level, (position + 1) * 2**level)`: level 0 holds the leaf hashes. The hash of
any other range of leaves (the right edge of a tree whose size is not a power of two) is folded
from the complete nodes that tile it, so a store of complete nodes answers a root, an inclusion
proof or a consistency proof by reading O(log n) nodes and hashing O(log n) times.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey: TypeAlias = tuple[int, int]  # (level, position)
Node: TypeAlias = tuple[int, int, bytes]  # (level, position, hash)
LeafRange: TypeAlias = tuple[int, int]  # [start, end)

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962: `SHA-256(0x00 || data)`."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962: `SHA-256(0x01 || left || right)`."""
    return _sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than `n` (n > 1): RFC 6962's split, not the midpoint."""
    if n < 2:
        raise ValueError(f"no split for a tree of {n} leaves")
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeKey]:
    """The complete nodes that tile leaves `[start, end)`, left to right, largest first."""
    if not 0 <= start <= end:
        raise ValueError(f"bad leaf range [{start}, {end})")
    keys: list[NodeKey] = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root over subtrees given left to right: `H(h0, H(h1, ... H(h[n-2], h[n-1])))`."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def range_hash(start: int, end: int, nodes: Mapping[NodeKey, bytes]) -> bytes:
    """MTH(D[start:end]) for a range shaped by RFC 6962's recursion, from stored nodes."""
    return fold([nodes[key] for key in range_nodes(start, end)])


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """MTH over all `leaves`, straight from the RFC's recursive definition (for tests)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(root_from_leaves(leaves[:k]), root_from_leaves(leaves[k:]))


# --------------------------------------------------------------------------- proof shapes


def inclusion_ranges(index: int, size: int) -> list[LeafRange]:
    """RFC 9162 PATH(index, D[size]) as leaf ranges, from the leaf's sibling up to the root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    ranges: list[LeafRange] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[LeafRange]:
    """RFC 9162 PROOF(old_size, D[new_size]) as leaf ranges, deepest first."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[LeafRange] = []
    start, m, n, whole = 0, old_size, new_size, True
    while m != n:
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, m, n, whole = start + k, m - k, n - k, False
    if not whole:
        ranges.append((start, start + m))
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[LeafRange]) -> set[NodeKey]:
    """Every stored node needed to hash these ranges."""
    return {key for start, end in ranges for key in range_nodes(start, end)}


def inclusion_proof(index: int, size: int, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    return [range_hash(a, b, nodes) for a, b in inclusion_ranges(index, size)]


def consistency_proof(old_size: int, new_size: int, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    return [range_hash(a, b, nodes) for a, b in consistency_ranges(old_size, new_size)]


# --------------------------------------------------------------------------- verifiers


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _well_formed(hashes: Sequence[bytes]) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2: the root that `proof` implies, or None if it is malformed."""
    if not 0 <= index < size or not _well_formed([leaf, *proof]):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    computed = root_from_inclusion(index, size, leaf, proof)
    return computed is not None and _same(computed, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2. An empty tree is consistent with every tree."""
    if not 0 <= old_size <= new_size or not _well_formed([old_root, new_root, *proof]):
        return False
    if old_size == 0:
        return not proof
    if old_size == new_size:
        return not proof and _same(old_root, new_root)
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and _same(fr, old_root) and _same(sr, new_root)


# --------------------------------------------------------------------------- appending


class Frontier:
    """The complete subtrees of a tree of `size` leaves (largest first): enough to append a leaf,
    which yields the nodes it completes, and to compute the current root."""

    __slots__ = ("_hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier nodes")
        self.size = size
        self._hashes = list(hashes)

    @staticmethod
    def keys(size: int) -> list[NodeKey]:
        """The nodes a tree of `size` leaves keeps in its frontier."""
        return range_nodes(0, size)

    def append(self, leaf: bytes) -> list[Node]:
        """Add one leaf. Returns the leaf's node and every node it completes, lowest first."""
        position = self.size
        created: list[Node] = [(0, position, leaf)]
        h, level = leaf, 0
        while position & 1:
            h = node_hash(self._hashes.pop(), h)
            level, position = level + 1, position >> 1
            created.append((level, position, h))
        self._hashes.append(h)
        self.size += 1
        return created

    def append_into(self, leaf: bytes, interior: dict[NodeKey, bytes]) -> None:
        """`append`, for the verifier's hot loop: the completed interior nodes go to `interior`."""
        position, h, level, hashes = self.size, leaf, 0, self._hashes
        while position & 1:
            h = _sha256(NODE_PREFIX + hashes.pop() + h).digest()
            level, position = level + 1, position >> 1
            interior[(level, position)] = h
        hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        return fold(self._hashes)

    def copy(self) -> Frontier:
        return Frontier(self.size, self._hashes)
