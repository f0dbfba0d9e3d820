"""The one threshold policy and literal display of untrusted text."""

from __future__ import annotations

from tuf_ceremony.policy import evaluate_threshold
from tuf_ceremony.text import is_plain, safe


def test_threshold_counts_distinct_keys_not_keyids() -> None:
    material = {"a1": b"A", "a2": b"A", "b": b"B", "c": b"C"}
    r = evaluate_threshold("root", ["a1", "a2", "b", "c"], 2, material, {"a1", "a2"})
    assert r.signed == ("a1",)
    assert not r.met
    assert r.duplicate_keys == (("a1", "a2"),)
    assert r.distinct_keys == 3
    r = evaluate_threshold("root", ["a1", "a2", "b", "c"], 2, material, {"a2", "b"})
    assert r.met and set(r.signed) == {"a2", "b"}


def test_threshold_repeated_and_unusable_keyids_never_count() -> None:
    r = evaluate_threshold("t", ["a", "a", "x"], 1, {"a": b"A", "x": None}, {"x"})
    assert r.repeated_keyids == ("a",)
    assert r.unusable == ("x",)
    assert not r.met
    assert r.satisfiable
    r0 = evaluate_threshold("t", ["a"], 0, {"a": b"A"}, {"a"})
    assert not r0.met and not r0.satisfiable
    r2 = evaluate_threshold("t", ["a"], 2, {"a": b"A"}, {"a"})
    assert not r2.satisfiable


def test_safe_escapes_controls_invisibles_and_bidi() -> None:
    assert safe("alice") == "alice"
    assert safe("\x1b[2Jx") == "\\x1b[2Jx"
    assert safe("a\r\nb\tc") == "a\\x0d\\x0ab\\x09c"
    assert safe("evil\u202egnp.exe") == "evil\\u202egnp.exe"
    assert safe("zero\u200bwidth") == "zero\\u200bwidth"
    assert safe("back\\slash") == "back\\\\slash"
    assert safe("caf\u00e9 \u65e5\u672c") == "caf\u00e9 \u65e5\u672c"
    assert safe("nb\u00a0sp") == "nb\\xa0sp"
    cut = safe("x" * 300, 10)
    assert cut.startswith("x" * 10) and "290 more characters" in cut
    assert is_plain("alice") and not is_plain("a\x07") and not is_plain("a\\b")
