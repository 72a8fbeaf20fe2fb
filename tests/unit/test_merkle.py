"""RFC 6962 / 9162 hashing: known answers, every proof shape, forgeries, and pymerkle as an
independent oracle (its proofs are 1-based, include the leaf and carry direction bits, so the
two are cross-verified rather than compared byte for byte)."""

from __future__ import annotations

import random

import pytest
from pymerkle import InclusionProof, InmemoryTree, InvalidProof

from thawgate.domain import merkle

# The Certificate Transparency reference tree: its 8 leaf inputs and the root of each prefix.
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (0, 1): [],
}
CT_CONSISTENCY = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
ORACLE_TREES = 220


def grow(leaves: list[bytes]) -> tuple[dict[merkle.NodeKey, bytes], list[bytes]]:
    """Every stored node of the tree over `leaves`, and the root after each append."""
    frontier = merkle.Frontier()
    nodes: dict[merkle.NodeKey, bytes] = {}
    roots = [merkle.EMPTY_ROOT]
    for leaf in leaves:
        nodes.update({(lv, p): h for lv, p, h in frontier.append(leaf)})
        roots.append(frontier.root())
    return nodes, roots


CT_HASHES = [merkle.leaf_hash(bytes.fromhex(x)) for x in CT_LEAVES]
CT_NODES, CT_GROWN_ROOTS = grow(CT_HASHES)


# --------------------------------------------------------------------------- known answers


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_ct_reference_tree(size: int) -> None:
    assert merkle.root_from_leaves(CT_HASHES[:size]).hex() == CT_ROOTS[size]
    assert CT_GROWN_ROOTS[size].hex() == CT_ROOTS[size]
    if size:
        assert merkle.range_hash(0, size, CT_NODES).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_inclusion_proofs_match_the_ct_reference(index: int, size: int) -> None:
    proof = merkle.inclusion_proof(index, size, CT_NODES)
    assert [h.hex() for h in proof] == CT_INCLUSION[(index, size)]
    root = bytes.fromhex(CT_ROOTS[size])
    assert merkle.verify_inclusion(index, size, CT_HASHES[index], proof, root)


@pytest.mark.parametrize(("old", "new"), sorted(CT_CONSISTENCY))
def test_consistency_proofs_match_the_ct_reference(old: int, new: int) -> None:
    proof = merkle.consistency_proof(old, new, CT_NODES)
    assert [h.hex() for h in proof] == CT_CONSISTENCY[(old, new)]
    old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)


def test_the_split_is_the_largest_power_of_two_below_not_the_midpoint() -> None:
    assert [merkle.split_point(n) for n in (2, 3, 4, 5, 6, 7, 8, 9, 1000)] == [
        1, 2, 2, 4, 4, 4, 4, 8, 512,
    ]  # fmt: skip


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.node_hash(a, b) != merkle.leaf_hash(a + b)
    assert merkle.EMPTY_ROOT.hex() == CT_ROOTS[0]


# --------------------------------------------------------------------------- every shape


def test_every_proof_of_every_small_tree_verifies_and_no_other_does() -> None:
    for n in range(1, 41):
        leaves = [merkle.leaf_hash(bytes([i, n])) for i in range(n)]
        nodes, roots = grow(leaves)
        assert roots[n] == merkle.root_from_leaves(leaves)
        for i in range(n):
            proof = merkle.inclusion_proof(i, n, nodes)
            assert merkle.verify_inclusion(i, n, leaves[i], proof, roots[n])
            assert not merkle.verify_inclusion(i, n, leaves[(i + 1) % n], proof, roots[n]) or n == 1
        for old in range(0, n + 1):
            proof = merkle.consistency_proof(old, n, nodes)
            assert merkle.verify_consistency(old, n, roots[old], roots[n], proof)
            if 0 < old < n:
                assert not merkle.verify_consistency(old, n, roots[old - 1], roots[n], proof)


def test_a_frontier_reloaded_from_stored_nodes_continues_the_same_tree() -> None:
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(100)]
    nodes, _ = grow(leaves[:57])
    keys = merkle.Frontier.keys(57)
    frontier = merkle.Frontier(57, [nodes[k] for k in keys])
    for leaf in leaves[57:]:
        frontier.append(leaf)
    assert frontier.root() == merkle.root_from_leaves(leaves)
    with pytest.raises(ValueError, match="frontier nodes"):
        merkle.Frontier(57, [nodes[k] for k in keys[:-1]])


def test_a_proof_reads_a_logarithmic_number_of_nodes() -> None:
    size = 1_000_000
    for index in (0, 1, 499_999, 524_288, 999_999):
        keys = merkle.nodes_for(merkle.inclusion_ranges(index, size))
        assert len(keys) <= 2 * size.bit_length()
    assert len(merkle.nodes_for(merkle.consistency_ranges(333_333, size))) <= 2 * 20
    assert len(merkle.Frontier.keys(size)) == size.bit_count()


# --------------------------------------------------------------------------- forgeries


def _flip(h: bytes, bit: int) -> bytes:
    return h[: bit // 8] + bytes([h[bit // 8] ^ (1 << bit % 8)]) + h[bit // 8 + 1 :]


@pytest.mark.parametrize("size", [2, 3, 7, 8, 13, 64, 100])
def test_forged_or_altered_inclusion_proofs_are_rejected(size: int) -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(size)]
    nodes, roots = grow(leaves)
    root = roots[size]
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, nodes)
        forgeries: list[tuple[int, int, list[bytes], bytes]] = [
            (index, size, [*proof, proof[-1]], root),  # a hash too many
            (index, size, proof[:-1], root),  # a hash too few
            (index, size, proof[1:], root),
            (index, size, [*proof[:-1], proof[-1][:31]], root),  # a truncated hash
            (index, size, [bytes(32), *proof], root),  # garbage in front
            (index, size * 2, proof, root),  # the wrong tree height
            (index, size // 2, proof, root),
            (index + 1, size, proof, root),  # the wrong index
            (index ^ 2, size, proof, root),
            (size, size, proof, root),  # an index out of range
            (index, size, proof, _flip(root, 5)),  # the wrong root
        ]
        forgeries += [
            (index, size, [*proof[:k], _flip(proof[k], bit), *proof[k + 1 :]], root)
            for k in range(len(proof))
            for bit in (0, 129, 255)
        ]
        if index:
            forgeries.append((index - 1, size, proof, root))
        forgeries = [f for f in forgeries if f[:2] != (index, size) or f[2:] != (proof, root)]
        for i, n, p, r in forgeries:
            assert not merkle.verify_inclusion(i, n, leaves[index], p, r), (index, i, n)
        assert not merkle.verify_inclusion(index, size, _flip(leaves[index], 7), proof, root)


@pytest.mark.parametrize("size", [3, 8, 13, 64, 100])
def test_forged_or_altered_consistency_proofs_are_rejected(size: int) -> None:
    leaves = [merkle.leaf_hash(bytes([i, 1])) for i in range(size)]
    nodes, roots = grow(leaves)
    for old in range(1, size):
        proof = merkle.consistency_proof(old, size, nodes)
        a, b = roots[old], roots[size]
        assert merkle.verify_consistency(old, size, a, b, proof)
        forgeries: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
            (old, size, a, b, []),
            (old, size, a, b, proof[:-1]),
            (old, size, a, b, [*proof, proof[0]]),
            (old, size, a, b, [bytes(32), *proof]),
            (old - 1, size, a, b, proof),  # the wrong old size
            (old + 1, size, a, b, proof),
            (old ^ 2, size, a, b, proof),
            (old, size * 2, a, b, proof),  # the wrong new size
            (old, size // 2, a, b, proof),
            (size, old, b, a, proof),
            (old, size, _flip(a, 3), b, proof),
            (old, size, a, _flip(b, 3), proof),
        ]
        forgeries += [
            (old, size, a, b, [*proof[:k], _flip(proof[k], 200), *proof[k + 1 :]])
            for k in range(len(proof))
        ]
        for forged in forgeries:
            assert not merkle.verify_consistency(*forged), (old, forged[:2])
    assert merkle.verify_consistency(0, size, merkle.EMPTY_ROOT, roots[size], [])
    assert not merkle.verify_consistency(0, size, merkle.EMPTY_ROOT, roots[size], [roots[1]])
    assert merkle.verify_consistency(size, size, roots[size], roots[size], [])
    assert not merkle.verify_consistency(size, size, roots[size], roots[size - 1], [])


# --------------------------------------------------------------------------- pymerkle


def test_pymerkle_agrees_on_roots_and_cross_verifies_proofs_on_random_trees() -> None:
    dice = random.Random(6962)  # noqa: S311  # reproducible random trees, not secrets
    checked = 0
    for _ in range(ORACLE_TREES):
        size = dice.choice([dice.randint(1, 20), dice.randint(21, 300)])
        data = [dice.randbytes(dice.randint(0, 40)) for _ in range(size)]
        oracle = InmemoryTree(algorithm="sha256")
        for d in data:
            oracle.append_entry(d)
        leaves = [merkle.leaf_hash(d) for d in data]
        nodes, roots = grow(leaves)
        for n in {size, dice.randint(1, size)}:
            assert oracle.get_root(n) == roots[n]
            _cross_inclusion(oracle, nodes, leaves, roots, dice.randrange(n), n)
            _cross_consistency(oracle, nodes, roots, dice.randint(1, n), n)
        checked += 1
    assert checked == ORACLE_TREES


def _cross_inclusion(
    oracle: InmemoryTree,
    nodes: dict[merkle.NodeKey, bytes],
    leaves: list[bytes],
    roots: list[bytes],
    index: int,
    size: int,
) -> None:
    theirs = oracle.prove_inclusion(index + 1, size)  # 1-based, and its path starts at the leaf
    assert theirs.path[0] == leaves[index]
    assert merkle.verify_inclusion(index, size, leaves[index], theirs.path[1:], roots[size])
    ours = merkle.inclusion_proof(index, size, nodes)
    as_theirs = InclusionProof("sha256", True, size, index + 1, theirs.rule, [leaves[index], *ours])
    as_theirs.verify(leaves[index], oracle.get_root(size), index=index + 1, size=size)
    if size > 1:  # and pymerkle too rejects an altered proof of ours
        bad = [leaves[index], *ours[:-1], _flip(ours[-1], 1)]
        with pytest.raises(InvalidProof):
            InclusionProof("sha256", True, size, index + 1, theirs.rule, bad).verify(
                leaves[index], oracle.get_root(size)
            )


def _cross_consistency(
    oracle: InmemoryTree, nodes: dict[merkle.NodeKey, bytes], roots: list[bytes], old: int, new: int
) -> None:
    """pymerkle's consistency paths are shaped differently (leaf-level ranges with a mask of
    those that make the old root), so each side's proof is checked by its own verifier against
    the other side's roots."""
    ours = merkle.consistency_proof(old, new, nodes)
    assert merkle.verify_consistency(old, new, oracle.get_root(old), oracle.get_root(new), ours)
    theirs = oracle.prove_consistency(old, new)
    theirs.verify(roots[old], roots[new], prior_size=old, later_size=new)
    if old < new:
        with pytest.raises(InvalidProof):
            theirs.verify(roots[old - 1], roots[new])
