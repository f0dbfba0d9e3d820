"""Which targets a delegated role may hold, decided for a whole ``targets``
map at once.

python-tuf decides one path at a time: ``DelegatedRole.is_delegated_path``
(for hashed bins: the SHA-256 hex digest of the UTF-8 path starts with one of
``path_hash_prefixes``) and ``SuccinctRoles.get_role_for_target`` (the first
``bit_length`` bits of that digest name the bin). The functions here compute
the same digests with C-level iteration and answer "every path is in range"
(True) or "some path is not" (False); None means "no bulk answer", and the
caller asks python-tuf path by path. ``tests/test_verify_ranges.py`` checks
the answers against python-tuf on random and hostile paths.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from hashlib import sha256
from operator import itemgetter

from tuf.api.metadata import DelegatedRole, SuccinctRoles

_LOWER_HEX = re.compile(r"[0-9a-f]*")


def _digests(paths: Collection[str]) -> list[bytes]:
    # a comprehension: faster than map() chains through methodcaller
    return [sha256(p.encode()).digest() for p in paths]


def all_delegated(role: DelegatedRole, paths: Collection[str]) -> bool | None:
    """Whether ``role.is_delegated_path(p)`` holds for every ``p``; None for
    roles delegated by path patterns (not hash prefixes) or by prefixes of
    several lengths."""
    prefixes = role.path_hash_prefixes
    if prefixes is None:
        return None
    if not paths:
        return True
    lengths = {len(p) for p in prefixes}
    if len(lengths) != 1:
        return None
    size = lengths.pop()
    if size == 0:
        return True  # "" starts every digest
    # a hex digest starts with a prefix only when the prefix is lowercase
    # hex and no longer than the digest
    usable = {p for p in prefixes if _LOWER_HEX.fullmatch(p)} if size <= 64 else set()
    if not usable:
        return False
    if size % 2:
        return {sha256(p.encode()).hexdigest()[:size] for p in paths} <= usable
    numbers = sorted(int(p, 16) for p in usable)
    digests = _digests(paths)
    nbytes = size // 2
    low = numbers[0].to_bytes(nbytes, "big")
    if min(digests) < low:
        return False
    top = numbers[-1] + 1
    if top < 1 << (8 * nbytes) and max(digests) >= top.to_bytes(nbytes, "big"):
        return False
    if top - numbers[0] == len(numbers):  # one contiguous range (PEP 458's bins)
        return True
    cut = itemgetter(slice(0, nbytes))
    return set(map(cut, digests)) <= {n.to_bytes(nbytes, "big") for n in numbers}


def all_in_bin(succinct: SuccinctRoles, role: str, paths: Collection[str]) -> bool | None:
    """Whether ``succinct.get_role_for_target(p) == role`` for every ``p``;
    None when ``role`` is not one of ``succinct``'s bin names."""
    head = f"{succinct.name_prefix}-"
    if not role.startswith(head):
        return None
    suffix = role[len(head) :]
    try:
        number = int(suffix, 16)
    except ValueError:
        return None
    if f"{head}{number:0{succinct.suffix_len}x}" != role or number >= succinct.number_of_bins:
        return None
    if not paths:
        return True
    # the bin is the top bit_length bits of the digest's first 4 bytes: a
    # range of 4-byte prefixes, compared as bytes (big-endian order)
    shift = 32 - succinct.bit_length
    digests = _digests(paths)
    if min(digests) < (number << shift).to_bytes(4, "big"):
        return False
    if number + 1 < succinct.number_of_bins:
        return max(digests) < ((number + 1) << shift).to_bytes(4, "big")
    return True
