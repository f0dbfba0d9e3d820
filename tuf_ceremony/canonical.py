"""Strict JSON parsing and canonical JSON bytes, fast where provably exact.

The reference behaviour is the slow path: :func:`tuf_ceremony.files.parse_json`
(stdlib decoder; duplicate keys, floats, NaN and deep nesting refused) and
securesystemslib's ``encode_canonical`` (the OLPC canonical form python-tuf
signs). orjson is used instead only when its result is provably the same:

Parsing (:func:`loads`): orjson keeps the *last* of duplicate keys, turns
integers beyond 64 bits into floats and refuses lone surrogate escapes. So
the fast path is taken only for input with no backslash at all. Such input
has no escape sequences, so every ``"`` in it delimits a string, and it holds
exactly 2 x (keys + string values) quotes; the parsed tree is counted the same
way (one breadth-first pass over its containers, at C speed): a duplicate key
drops at least one key, so the counts differ. The same pass refuses floats
(big integers included), any other type and nesting deeper than
:data:`~tuf_ceremony.files.MAX_JSON_DEPTH`. Whenever anything differs, or
orjson refuses the input, the stdlib parser decides (and names the problem).

Canonical bytes (:func:`canonical_bytes`): for a tree of dict (str keys),
list, str, int (64-bit), bool and None, ``orjson.dumps`` with sorted keys is
compact and sorts by code point like Python's ``sorted``; its strings differ
from canonical JSON's only in escaping (canonical JSON escapes just ``\\`` and
``"``, orjson also control characters). An output without any backslash
therefore *is* the canonical form; otherwise securesystemslib encodes it.

``tests/test_canonical.py`` checks both against the reference on hostile
input (hypothesis), and that the fallbacks engage.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any

import orjson

from tuf_ceremony.files import MAX_JSON_DEPTH, parse_json

__all__ = ["Checker", "canonical_bytes", "load_signed", "loads", "tree_strings"]

_SCALARS = frozenset({str, int, bool, type(None)})
_ALLOWED = _SCALARS | {dict, list}
_values = dict.values
_from_iterable = chain.from_iterable
_is_dict = dict.__instancecheck__
_is_list = list.__instancecheck__
# orjson options: sorted keys; subclasses, dataclasses and datetimes are not
# serialized natively (they reach ``default``, which refuses them)
_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)


# see load_signed: (a checked subtree of ``signed``, the strings it holds)
Checker = Callable[[dict[str, Any]], tuple[dict[str, Any], int] | None]


def _refuse(obj: Any) -> Any:
    raise TypeError(f"not a JSON value: {type(obj).__name__}")


def tree_strings(obj: Any, skip: Any = None) -> int | None:
    """How many strings (object keys included) a parsed JSON tree holds; None
    when it holds anything but dict, list, str, int, bool and None (a float
    above all: orjson gives big integers as floats too) or nests deeper than
    ``MAX_JSON_DEPTH`` containers. One pass per level, at C speed.

    ``skip``: a dict within the first 8 levels that the caller has checked
    and counted itself (every value, to at most 8 levels below it): neither
    scanned nor counted (its key in its parent is).
    """
    t = type(obj)
    if t is not dict and t is not list:
        return (1 if t is str else 0) if t in _SCALARS else None
    strings = 0
    dicts: list[Any] = [obj] if t is dict else []
    lists: list[Any] = [obj] if t is list else []
    depth = 0
    while dicts or lists:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return None
        strings += sum(map(len, dicts))  # the keys
        vals = list(chain(_from_iterable(map(_values, dicts)), _from_iterable(lists)))
        types = list(map(type, vals))
        kinds = set(types)
        if not kinds <= _ALLOWED:
            return None
        strings += types.count(str)
        dicts = list(filter(_is_dict, vals)) if dict in kinds else []
        if skip is not None and depth < 8:
            dicts = [x for x in dicts if x is not skip]
        lists = list(filter(_is_list, vals)) if list in kinds else []
    return strings


def _fast_loads(raw: bytes, checked: Checker | None = None) -> tuple[bool, Any]:
    """orjson's parse when it provably equals the stdlib's, else
    ``(False, None)``. Input without backslashes has no escapes, so each of
    its strings has exactly two quotes; orjson drops the earlier of duplicate
    keys, so the tree then holds fewer strings than the input has."""
    if b"\\" in raw:
        return False, None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False, None
    skip, skipped = None, 0
    if checked is not None and type(data) is dict and type(data.get("signed")) is dict:
        found = checked(data["signed"])
        if found is not None:
            skip, skipped = found
    strings = tree_strings(data, skip)
    if strings is None or raw.count(b'"') != 2 * (strings + skipped):
        return False, None
    return True, data


def loads(raw: bytes, source: str, what: str = "JSON file") -> Any:
    """Parse ``raw`` exactly as :func:`tuf_ceremony.files.parse_json` does
    (same result, same refusals, same messages), with orjson when provably
    equal."""
    ok, data = _fast_loads(raw)
    return data if ok else parse_json(raw, source, what)


def _fast_dumps(obj: Any) -> bytes | None:
    """orjson's output with sorted keys, or None when it holds a backslash.
    For a tree that passed :func:`tree_strings`, that is the canonical form."""
    try:
        out = orjson.dumps(obj, default=_refuse, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return None
    if b"\\" in out:
        return None
    return out


def _reference(obj: Any) -> bytes:
    from securesystemslib.exceptions import FormatError as SslibFormatError
    from securesystemslib.formats import encode_canonical

    try:
        text = encode_canonical(obj)
    except SslibFormatError as e:
        raise ValueError(str(e)) from None
    assert isinstance(text, str)
    return text.encode("utf-8")


def canonical_bytes(obj: Any) -> bytes:
    """securesystemslib's ``encode_canonical(obj)`` as UTF-8, byte for byte.

    Raises ValueError for what canonical JSON cannot hold (floats, other
    types) and UnicodeEncodeError for lone surrogates, as the reference does.
    """
    if tree_strings(obj) is not None:
        out = _fast_dumps(obj)
        if out is not None:
            return out
    return _reference(obj)


def load_signed(
    raw: bytes, source: str, what: str = "metadata", checked: Checker | None = None
) -> tuple[Any, bytes | None]:
    """Parse a metadata file (as :func:`loads`) and return it with the
    canonical bytes of its ``signed`` object (None when ``signed`` is not an
    object).

    ``checked(signed)`` may return a dict within ``signed`` whose every value
    it has type-checked itself, with the number of strings (keys included)
    it holds (see :func:`tree_strings`' ``skip``), e.g. the ``targets`` map
    of a hashed bin, checked entry by entry anyway."""
    ok, data = _fast_loads(raw, checked)
    if not ok:
        data = parse_json(raw, source, what)
    signed = data.get("signed") if type(data) is dict else None
    if type(signed) is not dict:
        return data, None
    payload = _fast_dumps(signed) if ok else None
    return data, payload if payload is not None else canonical_bytes(signed)
