"""The orjson fast path of tuf_ceremony.canonical gives exactly what the
reference gives: files.parse_json (stdlib, strict) for parsing and
securesystemslib's encode_canonical for canonical bytes -- on hostile input
too -- and the fallbacks engage where orjson would differ."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from securesystemslib.exceptions import FormatError as SslibFormatError
from securesystemslib.formats import encode_canonical

from tuf_ceremony import canonical
from tuf_ceremony.errors import FormatError
from tuf_ceremony.files import parse_json

# characters that break naive encoders: quotes, backslashes, every control
# character, DEL, non-ASCII, line/paragraph separators, BOM, astral
# characters, and lone surrogates (which no UTF-8 encoder may emit)
HOSTILE = '"\\/\x00\x01\x08\t\n\x0b\x0c\r\x1b\x1f\x7f\x80\x85\xa0é\u2028\u2029\ufeff\uffff\U0001f600\U0010ffff'
texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(HOSTILE),
        st.characters(codec=None),  # any code point, surrogates included
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    ),
    max_size=12,
)
ints = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 0, -1]),
)
scalars = st.one_of(st.none(), st.booleans(), ints, texts, st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=20,
)
plain_values = st.recursive(
    st.one_of(st.none(), st.booleans(), ints, texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=20,
)


# what securesystemslib's encode_canonical accepts
CanonicalInput = bool | str | int | tuple[Any, ...] | list[Any] | dict[Any, Any] | None


def sslib_canonical(obj: CanonicalInput) -> bytes:
    """securesystemslib's canonical bytes (it returns None only when given an
    output function, which is never passed here)."""
    text = encode_canonical(obj)
    assert text is not None
    return text.encode("utf-8")


def reference_bytes(obj: Any) -> tuple[str, Any]:
    try:
        return "ok", sslib_canonical(obj)
    except SslibFormatError:
        return "refused", None
    except UnicodeEncodeError:
        return "unicode", None


def fast_bytes(obj: Any) -> tuple[str, Any]:
    try:
        return "ok", canonical.canonical_bytes(obj)
    except ValueError as e:
        if isinstance(e, UnicodeEncodeError):
            return "unicode", None
        return "refused", None


def typed(obj: Any) -> Any:
    """A value with its types spelled out (1 and True and 1.0 differ)."""
    if isinstance(obj, dict):
        return ("dict", [(k, typed(v)) for k, v in obj.items()])
    if isinstance(obj, list):
        return ("list", [typed(v) for v in obj])
    return (type(obj).__name__, obj)


def verdict(fn: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", typed(fn(raw, "f.json", "metadata"))
    except FormatError as e:
        return "error", str(e)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(values)
@example({"b": 1, "a": {"\U0001f600": 1, "\uffff": 2, "\ue000": 3, "z": [True, None]}})
@example({"k": "\ud800"})
@example(2**64)
@example({"n": 1.0})
@example('\x00\\"')
def test_canonical_bytes_equal_reference(value: Any) -> None:
    assert fast_bytes(value) == reference_bytes(value)


def _raw_forms(value: Any, data: st.DataObject) -> bytes:
    ensure_ascii = data.draw(st.booleans())
    indent = data.draw(st.sampled_from([None, 0, 1, 2]))
    try:
        text = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)
    except ValueError:
        text = "null"
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(values, st.data())
def test_loads_equals_strict_parser(value: Any, data: st.DataObject) -> None:
    raw = _raw_forms(value, data)
    assert verdict(canonical.loads, raw) == verdict(parse_json, raw)


def _mutate(raw: bytes, data: st.DataObject) -> bytes:
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    insert = data.draw(
        st.sampled_from(
            [
                b'"a":1,',
                b'"x":1,"x":2,',
                b"\\",
                b'"',
                b"\x00",
                b"\x1f",
                b"\xff",
                b"\xef\xbb\xbf",
                b"1.5",
                b"1e5",
                b"-0",
                b"18446744073709551616",
                b"NaN",
                b"Infinity",
                b"\\ud800",
                b"\\udc00\\ud800",
                b"\\u0000",
                b"\xed\xa0\x80",
                b"\xc0\x80",
                b"\xf4\x90\x80\x80",
                b"[",
                b"]",
                b"{",
                b"}",
                b",",
                b":",
                b" ",
                b"\t",
            ]
        )
    )
    return raw[:cut] + insert + raw[cut:]


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(plain_values, st.data())
def test_mutated_input_same_verdict(value: Any, data: st.DataObject) -> None:
    raw = _raw_forms({"signed": value, "signatures": []}, data)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        raw = _mutate(raw, data)
    assert verdict(canonical.loads, raw) == verdict(parse_json, raw)
    fast = _signed_verdict(canonical.load_signed, raw)
    assert fast == _signed_verdict(_reference_load_signed, raw)


def _reference_load_signed(raw: bytes, source: str, what: str) -> tuple[Any, bytes | None]:
    data = parse_json(raw, source, what)
    signed = data.get("signed") if isinstance(data, dict) else None
    if not isinstance(signed, dict):
        return data, None
    return data, sslib_canonical(signed)


def _signed_verdict(fn: Any, raw: bytes) -> tuple[str, Any]:
    try:
        data, payload = fn(raw, "f.json", "metadata")
    except FormatError as e:
        return "error", str(e)
    except (ValueError, UnicodeEncodeError, SslibFormatError):
        return "not canonical", None
    return "ok", (typed(data), payload)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(plain_values, st.data())
def test_load_signed_payload_equals_encode_canonical(value: Any, data: st.DataObject) -> None:
    raw = _raw_forms({"signatures": [{"keyid": "k", "sig": "s"}], "signed": {"v": value}}, data)
    assert _signed_verdict(canonical.load_signed, raw) == _signed_verdict(_reference_load_signed, raw)


DUPLICATES = [
    b'{"a":1,"a":1}',
    b'{"a":1,"a":2}',
    b'{"signed":{"a":1},"signed":{"a":1}}',
    b'{"signed":{"targets":{"p":{"length":1,"length":1,"hashes":{"sha256":"x"}}}},"signatures":[]}',
    b'{"a":{"b":"c"},"a":{"b":"c"}}',
    b'{"a" : 1 ,\n "a" : 1}',
    b'[{"x":[],"x":[]}]',
    b'{"a":{},"a":{}}',
]


@pytest.mark.parametrize("raw", DUPLICATES)
def test_duplicate_keys_refused_like_strict_parser(raw: bytes) -> None:
    expected = verdict(parse_json, raw)
    assert expected[0] == "error" and "duplicate key" in expected[1]
    assert verdict(canonical.loads, raw) == expected
    assert _signed_verdict(canonical.load_signed, raw)[1] == expected[1]


@pytest.mark.parametrize(
    ("raw", "fast"),
    [
        (b'{"signed":{"a":"b","n":[1,2,{"c":null}]},"signatures":[]}', True),
        (b'{"signed":{"a":"\\u00e9"},"signatures":[]}', False),  # a backslash: stdlib
        (b'{"signed":{"a":1,"a":1},"signatures":[]}', False),  # duplicate
        (b'{"signed":{"a":18446744073709551616},"signatures":[]}', False),  # big int
        (b'{"signed":{"a":1.5},"signatures":[]}', False),  # float: refused by the stdlib
        (b'{"signed":{"a":"\\ud800"},"signatures":[]}', False),  # lone surrogate
        (b'\xef\xbb\xbf{"signed":{},"signatures":[]}', False),  # BOM
        (b"[" * 70 + b"]" * 70, False),  # deeper than MAX_JSON_DEPTH
    ],
)
def test_fallback_engages(monkeypatch: pytest.MonkeyPatch, raw: bytes, fast: bool) -> None:
    calls: list[bytes] = []
    real = parse_json

    def spy(data: bytes, source: str, what: str = "JSON file") -> Any:
        calls.append(data)
        return real(data, source, what)

    monkeypatch.setattr(canonical, "parse_json", spy)
    expected = verdict(real, raw)
    assert verdict(canonical.loads, raw) == expected
    assert bool(calls) is not fast
    calls.clear()
    _signed_verdict(canonical.load_signed, raw)
    assert bool(calls) is not fast


def test_escaped_output_falls_back_to_securesystemslib(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = canonical._reference

    def spy(obj: Any) -> bytes:
        calls.append(obj)
        return real(obj)

    monkeypatch.setattr(canonical, "_reference", spy)
    assert canonical.canonical_bytes({"a": "x\x01y"}) == b'{"a":"x\x01y"}'  # raw control char
    assert canonical.canonical_bytes({"q": 'say "hi"\\'}) == b'{"q":"say \\"hi\\"\\\\"}'
    assert len(calls) == 2
    assert canonical.canonical_bytes({"a": "plain é"}) == '{"a":"plain é"}'.encode()
    assert len(calls) == 2
    with pytest.raises(ValueError, match="cannot encode"):
        canonical.canonical_bytes({"f": 1.5})
    with pytest.raises(UnicodeEncodeError):
        canonical.canonical_bytes({"s": "\udc80"})


def test_non_json_types_never_take_the_fast_path() -> None:
    import datetime

    class S(str):
        pass

    for obj in ({"t": (1, 2)}, {"d": datetime.datetime(2030, 1, 1)}, {S("k"): 1}, {"s": S("v")}):
        assert fast_bytes(obj) == reference_bytes(obj)


def test_metadata_checker_skip_is_exact() -> None:
    """The bulk check of a bin's targets map (verify.doc.Records) lets the
    float scan skip the map only when every value in it is an int length or
    a string hash; a float anywhere in it still falls back and is refused."""
    from tuf_ceremony.verify.doc import Records

    good = b'{"signed":{"targets":{"p":{"length":1,"hashes":{"sha256":"aa"}}}},"signatures":[]}'
    r = Records()
    data, payload = canonical.load_signed(good, "f", "metadata", r)
    assert r.matched is data["signed"]["targets"]
    assert payload == sslib_canonical(data["signed"])
    for bad in (
        b'{"signed":{"targets":{"p":{"length":1.0,"hashes":{"sha256":"aa"}}}},"signatures":[]}',
        b'{"signed":{"targets":{"p":{"length":1,"hashes":{"sha256":1.5}}}},"signatures":[]}',
        b'{"signed":{"targets":{"p":{"length":1,"hashes":{"sha256":"a"},"x":1.5}}},"signatures":[]}',
        b'{"signed":{"targets":{"p":{"length":1,"custom":1.5}}},"signatures":[]}',
    ):
        with pytest.raises(FormatError, match="non-integer number"):
            canonical.load_signed(bad, "f", "metadata", Records())


def test_duplicates_inside_the_checked_map_still_refused() -> None:
    from tuf_ceremony.verify.doc import Records

    for bad, key in (
        (b'{"signed":{"targets":{"p":{"length":1,"length":1,"hashes":{"sha256":"aa"}}}},"signatures":[]}', "length"),
        (b'{"signed":{"targets":{"p":{"length":1,"hashes":{"sha256":"aa","sha256":"aa"}}}},"signatures":[]}', "sha256"),
        (
            b'{"signed":{"targets":{"p":{"length":1,"hashes":{"s":"a"}},"p":{"length":1,"hashes":{"s":"a"}}}},'
            b'"signatures":[]}',
            "p",
        ),
        (b'{"signed":{"targets":{},"targets":{}},"signatures":[]}', "targets"),
    ):
        with pytest.raises(FormatError, match=f"duplicate key '{key}'"):
            canonical.load_signed(bad, "f", "metadata", Records())


def test_every_file_of_a_generated_repository(tmp_path: Any) -> None:
    """Each metadata file python-tuf writes (and its compact orjson form,
    which takes the fast path) gives the reference's tree and payload."""
    import orjson

    from tests.fixtures_repo import build_repository, make_keys

    info = build_repository(tmp_path / "repo", make_keys(), n_bins=8, targets_per_bin=3)
    files = sorted(info.directory.glob("*.json"))
    assert len(files) == 12
    for f in files:
        for raw in (f.read_bytes(), orjson.dumps(orjson.loads(f.read_bytes()))):
            assert _signed_verdict(canonical.load_signed, raw) == _signed_verdict(_reference_load_signed, raw)
            assert verdict(canonical.loads, raw) == verdict(parse_json, raw)
