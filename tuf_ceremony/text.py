"""Showing untrusted text literally.

Every string that comes from an untrusted source (requests, bundles, plans,
repositories, token labels, file names) goes through :func:`safe` before it
reaches a screen, a report or an error message. Control characters (escape
sequences, CR, newlines, tabs), invisible characters (zero-width, soft
hyphen, byte-order mark) and reordering characters (bidi controls) are shown
as visible escapes such as ``\\x1b`` or ``\\u202e``; over-long strings are cut
visibly. The result holds no character a terminal would act on.

Rich markup is a separate concern: renderers that print through rich must
also escape markup (``rich.markup.escape``) or print ``rich.text.Text``
objects, which are never parsed as markup.
"""

from __future__ import annotations

import unicodedata

DEFAULT_LIMIT = 200

# Characters that reorder or hide text even though some are not in category C.
_INVISIBLE = {
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x061C,  # Arabic letter mark
    0x115F,
    0x1160,  # Hangul fillers
    0x17B4,
    0x17B5,
    0x180E,  # Mongolian vowel separator
    0x2800,  # braille blank
    0x3164,  # Hangul filler
    0xFFA0,
}


def _visible(ch: str) -> bool:
    cp = ord(ch)
    if cp in _INVISIBLE:
        return False
    cat = unicodedata.category(ch)
    # Cc control, Cf format (bidi, zero-width), Cs surrogate, Co private use,
    # Cn unassigned, Zl/Zp line and paragraph separators
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return False
    # all space separators other than the plain space are shown escaped
    if cat == "Zs" and ch != " ":
        return False
    # variation selectors and tag characters
    return not (0xFE00 <= cp <= 0xFE0F or 0xE0000 <= cp <= 0xE007F)


def _escape(ch: str) -> str:
    cp = ord(ch)
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def is_plain(text: str) -> bool:
    """True when ``text`` holds only visible characters and no backslash."""
    return all(_visible(ch) for ch in text) and "\\" not in text


def safe(text: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """``text`` made safe to print: invisible and control characters escaped
    (a literal backslash is doubled, so the escapes are unambiguous), and cut
    after ``limit`` characters with a visible marker."""
    s = text if isinstance(text, str) else str(text)
    if s.isascii() and s.isprintable() and "\\" not in s:  # fast path: plain ASCII
        result = s
    else:
        result = _escape_all(s)
    if limit is not None and len(result) > limit:
        cut = len(result) - limit
        result = f"{result[:limit]}...[{cut} more characters]"
    return result


def _escape_all(s: str) -> str:
    out: list[str] = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif _visible(ch):
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def safe_quoted(text: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """:func:`safe` in double quotes, for names inside sentences."""
    return f'"{safe(text, limit)}"'
