"""A Merkle tree over the audit log, as Certificate Transparency builds it (RFC 6962 §2.1, RFC 9162
§2.1), with SM3 as the hash: leaves are ``SM3(0x00 || data)``, inner nodes ``SM3(0x01 || l || r)``.

A checkpoint signs the root of the first ``n`` entries; an inclusion proof (the audit path) shows
that one entry is among them with ``log2(n)`` hashes, without the rest of the log.

The tree is kept as a *frontier*: the roots of the perfect subtrees that make up ``n`` leaves,
largest first (one per set bit of ``n``), so appending leaves never reads old ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives import hashes

Frontier = list[tuple[int, bytes]]  # (leaves under the subtree, its root), largest first


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def leaf_hash(data: bytes) -> bytes:
    return sm3(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sm3(b"\x01" + left + right)


EMPTY_ROOT = sm3(b"")


def _push(stack: Frontier, node: bytes) -> None:
    size_, current = 1, node
    while stack and stack[-1][0] == size_:
        left_size, left = stack.pop()
        size_, current = left_size + size_, node_hash(left, current)
    stack.append((size_, current))


def extend(frontier: Frontier, leaves: Iterable[bytes]) -> Frontier:
    """The frontier after appending ``leaves`` (leaf data, hashed here)."""
    stack = list(frontier)
    for data in leaves:
        _push(stack, leaf_hash(data))
    return stack


def root(frontier: Frontier) -> bytes:
    """RFC 6962's MTH: the subtrees are joined from the right (the smallest is the rightmost)."""
    if not frontier:
        return EMPTY_ROOT
    node = frontier[-1][1]
    for _, left in reversed(frontier[:-1]):
        node = node_hash(left, node)
    return node


def size(frontier: Frontier) -> int:
    return sum(n for n, _ in frontier)


def frontier_to_json(frontier: Frontier) -> list[list[int | str]]:
    return [[n, node.hex()] for n, node in frontier]


def frontier_from_json(value: Sequence[Sequence[int | str]]) -> Frontier:
    return [(int(n), bytes.fromhex(str(node))) for n, node in value]


def _subtree_root(leaf_hashes: Sequence[bytes]) -> bytes:
    stack: Frontier = []
    for node in leaf_hashes:
        _push(stack, node)
    return root(stack)


def inclusion_path(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[n]) for leaf ``index`` among ``leaf_hashes`` (already hashed)."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    path: list[bytes] = []
    lo, hi = 0, n
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)  # the largest power of two below the width
        if index - lo < k:
            path.append(_subtree_root(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            path.append(_subtree_root(leaf_hashes[lo : lo + k]))
            lo = lo + k
    path.reverse()  # RFC order: from the leaf's sibling up to the root's child
    return path


def verify_inclusion(
    data: bytes, index: int, tree_size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove leaf ``data`` at ``index`` under ``expected_root``?"""
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    node = leaf_hash(data)
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == expected_root
