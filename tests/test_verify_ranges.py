"""The bulk bin-range decisions of tuf_ceremony.verify.ranges equal
python-tuf's own, path by path: ``DelegatedRole.is_delegated_path`` and
``SuccinctRoles.get_role_for_target``, on random and hostile paths and
prefix sets."""

from __future__ import annotations

import hashlib

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tuf.api.metadata import DelegatedRole, SuccinctRoles

from tuf_ceremony.verify.ranges import all_delegated, all_in_bin

paths = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("/.-_ \x00\x7f\u2028\ufeffé\U0001f600"),
    ),
    max_size=40,
)
hex_prefix = st.text(alphabet="0123456789abcdef", min_size=0, max_size=5)
odd_prefix = st.text(alphabet="0123456789abcdefABCDEFgx-", min_size=0, max_size=66)


def _in_range_paths(prefixes: list[str], n: int) -> list[str]:
    """n paths whose digest starts with one of ``prefixes`` (when reachable)."""
    out: list[str] = []
    i = 0
    while len(out) < n and i < 3000:
        p = f"packages/{i}/f-{i}.tar.gz"
        if any(hashlib.sha256(p.encode()).hexdigest().startswith(x) for x in prefixes):
            out.append(p)
        i += 1
    return out


def _expected(role: DelegatedRole, targets: list[str]) -> bool:
    return all(role.is_delegated_path(p) for p in targets)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=0, max_value=2**12 - 1),
    st.integers(min_value=1, max_value=40),
    st.lists(paths, max_size=20),
    st.booleans(),
)
def test_contiguous_hex_prefixes(size: int, start: int, count: int, extra: list[str], gap: bool) -> None:
    top = 16**size
    start %= top
    numbers = [n for n in range(start, min(top, start + count)) if not (gap and n == start + 1)]
    prefixes = [f"{n:0{size}x}" for n in numbers]
    role = DelegatedRole("bin", [], 1, False, path_hash_prefixes=prefixes)
    inside = _in_range_paths(prefixes, 5)
    for targets in (inside, inside + extra, extra):
        assert all_delegated(role, targets) is _expected(role, targets)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(odd_prefix, min_size=1, max_size=6), st.lists(paths, max_size=20))
@example(["A0"], ["x"])
@example([""], ["anything"])
@example(["0" * 66], ["x"])
@example(["ff", "00"], ["a", "b"])
def test_hostile_prefixes(prefixes: list[str], targets: list[str]) -> None:
    role = DelegatedRole("bin", [], 1, False, path_hash_prefixes=prefixes)
    inside = _in_range_paths(prefixes, 3)
    for t in (targets, inside, inside + targets):
        got = all_delegated(role, t)
        assert got is None or got is _expected(role, t)
    if len({len(p) for p in prefixes}) == 1:
        assert all_delegated(role, targets) is not None


def test_pep458_layout_on_many_paths() -> None:
    # 16,384 bins of 4 prefixes each, as PEP 458 and python-tuf's example
    per = 4
    for b in (0, 1, 5000, 16383):
        prefixes = [f"{p:04x}" for p in range(b * per, (b + 1) * per)]
        role = DelegatedRole(f"bin-{b:04x}", [], 1, False, path_hash_prefixes=prefixes)
        inside = _in_range_paths(prefixes, 1)
        outside = [f"p/{i}" for i in range(2000)]
        assert all_delegated(role, inside) is _expected(role, inside)
        assert all_delegated(role, outside) is _expected(role, outside)
        assert all_delegated(role, []) is True


def test_path_patterns_are_left_to_python_tuf() -> None:
    role = DelegatedRole("r", [], 1, False, paths=["packages/*"])
    assert all_delegated(role, ["packages/x"]) is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.integers(min_value=1, max_value=32), st.integers(min_value=0), st.lists(paths, max_size=30))
@example(1, 0, ["a", "b", "c"])
@example(32, 2**32 - 1, ["x"])
def test_succinct_bins(bits: int, which: int, targets: list[str]) -> None:
    sr = SuccinctRoles([], 1, bits, "bins")
    number = which % (2**bits)
    name = f"bins-{number:0{sr.suffix_len}x}"
    own = [p for p in targets if sr.get_role_for_target(p) == name]
    for t in (targets, own, own + targets[:1]):
        assert all_in_bin(sr, name, t) is all(sr.get_role_for_target(p) == name for p in t)


def test_succinct_every_bin_of_a_small_delegation() -> None:
    sr = SuccinctRoles([], 1, 4, "bin")
    targets = [f"pkg/{i}.whl" for i in range(3000)]
    by_bin: dict[str, list[str]] = {}
    for p in targets:
        by_bin.setdefault(sr.get_role_for_target(p), []).append(p)
    for name in sr.get_roles():
        assert all_in_bin(sr, name, by_bin.get(name, [])) is True
        assert all_in_bin(sr, name, targets) is False
    assert all_in_bin(sr, "bin-01", targets) is None  # not a name of this delegation
    assert all_in_bin(sr, "bin-g", targets) is None
    assert all_in_bin(sr, "bin-10", targets) is None
    assert all_in_bin(sr, "other-01", targets) is None
