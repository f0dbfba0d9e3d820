"""unsafe_name_reason's fast path for printable ASCII names gives exactly the
answer of the character-by-character rule it skips."""

from __future__ import annotations

import unicodedata

from tuf_ceremony.wellformed import MAX_ROLE_NAME, unsafe_name_reason

_FORBIDDEN = set('/\\:*?"<>|')
_INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def reference(name: str) -> str | None:
    """The rule without the fast path."""
    if not name:
        return "is empty"
    if name in (".", ".."):
        return "is a relative directory name"
    if name.startswith("."):
        return "starts with a dot (a hidden file)"
    if ".." in name:
        return "contains '..'"
    for ch in name:
        if ch in _FORBIDDEN:
            return f"contains {ch!r} (a path separator or a character FAT refuses)"
        if unicodedata.category(ch) in _INVISIBLE:
            return f"contains the control or invisible character U+{ord(ch):04X}"
    if name != name.strip():
        return "starts or ends with white space"
    if len(name.encode("utf-8")) > MAX_ROLE_NAME:
        return f"is longer than {MAX_ROLE_NAME} bytes"
    return None


def test_every_ascii_and_some_unicode_character_in_every_position() -> None:
    chars = [chr(i) for i in range(128)] + ["\u00a0", "\u200b", "\u202e", "\u2028", "\ud800", "\ue000", "é", "ß"]
    for c in chars:
        for name in (c, f"bin-{c}", f"{c}bin", f"b{c}n", f"bin-{c}{c}", f"bin-0{c}/", f"x{c}\x00"):
            assert unsafe_name_reason(name) == reference(name), repr(name)


def test_bin_names_and_long_names() -> None:
    for name in ("bin-0000", "bins-3ff", "targets", "a b", "x" * MAX_ROLE_NAME, "x" * (MAX_ROLE_NAME + 1)):
        assert unsafe_name_reason(name) == reference(name), name
    assert unsafe_name_reason("bin-0000") is None
    assert unsafe_name_reason("bin\x7f") == "contains the control or invisible character U+007F"
    assert unsafe_name_reason("bin:0") == "contains ':' (a path separator or a character FAT refuses)"
