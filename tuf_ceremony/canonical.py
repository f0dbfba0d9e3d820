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

__all__ = ["canonical_bytes", "load_signed", "loads", "plain_tree"]

_SCALARS = frozenset({str, int, bool, type(None)})
_ALLOWED = _SCALARS | {dict, list}
_values = dict.values
_from_iterable = chain.from_iterable
_is_dict = dict.__instancecheck__
_is_list = list.__instancecheck__
# orjson options: sorted keys; subclasses, dataclasses and datetimes are not
# serialized natively (they reach ``default``, which refuses them)
_UNSORTED = (
    orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)
_SORTED = _UNSORTED | orjson.OPT_SORT_KEYS


def _refuse(obj: Any) -> Any:
    raise TypeError(f"not a JSON value: {type(obj).__name__}")


def plain_tree(obj: Any, skip: Any = None) -> bool:
    """Whether a parsed JSON tree holds only dict, list, str, int, bool and
    None (no float: orjson gives big integers as floats too) and nests at
    most ``MAX_JSON_DEPTH`` containers deep. One pass per level, at C speed.

    ``skip``: a dict within the first 8 levels whose subtree the caller has
    checked itself (every value, to at most 8 levels below it); not scanned.
    """
    t = type(obj)
    if t is not dict and t is not list:
        return t in _SCALARS
    dicts: list[Any] = [obj] if t is dict else []
    lists: list[Any] = [obj] if t is list else []
    depth = 0
    while dicts or lists:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return False
        vals = list(chain(_from_iterable(map(_values, dicts)), _from_iterable(lists)))
        kinds = set(map(type, vals))
        if not kinds <= _ALLOWED:
            return False
        dicts = list(filter(_is_dict, vals)) if dict in kinds else []
        if skip is not None and depth < 8:
            dicts = [x for x in dicts if x is not skip]
        lists = list(filter(_is_list, vals)) if list in kinds else []
    return True


def _fast_loads(raw: bytes) -> tuple[bool, Any]:
    """orjson's parse of input without backslashes, ``(False, None)`` when
    orjson refuses it. The caller checks :func:`plain_tree` and counts quotes."""
    if b"\\" in raw:
        return False, None
    try:
        return True, orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False, None


def _no_duplicates(raw: bytes, *outputs: bytes, extra: int = 0) -> bool:
    """Whether ``raw`` (no backslash) and the orjson outputs of its parsed
    tree hold the same number of quotes, i.e. no key was dropped."""
    return raw.count(b'"') == sum(o.count(b'"') for o in outputs) + extra


def loads(raw: bytes, source: str, what: str = "JSON file") -> Any:
    """Parse ``raw`` exactly as :func:`tuf_ceremony.files.parse_json` does
    (same result, same refusals, same messages), with orjson when provably
    equal."""
    ok, data = _fast_loads(raw)
    if ok and plain_tree(data):
        out = _fast_dumps(data, sort=False)
        if out is not None and _no_duplicates(raw, out):
            return data
    return parse_json(raw, source, what)


def _fast_dumps(obj: Any, sort: bool = True) -> bytes | None:
    """orjson's output without any backslash, or None. For a tree that passed
    :func:`plain_tree`, with ``sort``, that is the canonical form."""
    try:
        out = orjson.dumps(obj, default=_refuse, option=_SORTED if sort else _UNSORTED)
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
    if plain_tree(obj):
        out = _fast_dumps(obj)
        if out is not None:
            return out
    return _reference(obj)


def load_signed(
    raw: bytes,
    source: str,
    what: str = "metadata",
    checked: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
) -> tuple[Any, bytes | None]:
    """Parse a metadata file (as :func:`loads`) and return it with the
    canonical bytes of its ``signed`` object (None when ``signed`` is not an
    object). The canonical bytes double as the duplicate-key count.

    ``checked(signed)`` may return a dict within ``signed`` whose every value
    it has type-checked itself (see :func:`plain_tree`'s ``skip``), e.g. the
    ``targets`` map of a hashed bin, checked field by field anyway."""
    ok, data = _fast_loads(raw)
    if ok and type(data) is dict and type(data.get("signed")) is dict:
        signed = data["signed"]
        skip = checked(signed) if checked is not None else None
        ok = plain_tree(data, skip)
    if ok and type(data) is dict and type(data.get("signed")) is dict:
        payload = _fast_dumps(signed)
        rest = _fast_dumps({k: v for k, v in data.items() if k != "signed"}, sort=False)
        # + 2: the quotes of the key "signed" itself
        if payload is not None and rest is not None and _no_duplicates(raw, payload, rest, extra=2):
            return data, payload
    data = loads(raw, source, what)
    signed = data.get("signed") if type(data) is dict else None
    if type(signed) is not dict:
        return data, None
    return data, canonical_bytes(signed)
