"""The PGP word list, checked against published copies, and its layout.

The lists in tuf_ceremony/words.py were typed in and then compared entry by
entry with two published copies that agree with each other:
thblt/pgp-words (Python, ``_words``) and messerli-informatik-ag/pgp-word-list
(C#, ``PgpWords.Data.cs``). The one difference found (odd 0xE6 is
"trombonist", not "trombone") was corrected. The expected words below were
looked up in those published tables, not computed by our code.
"""

from __future__ import annotations

import hashlib

import pytest

from tuf_ceremony.words import (
    EVEN_WORDS,
    ODD_WORDS,
    SPOKEN_BYTES,
    digest_words,
    layout_words,
    words_to_bytes,
)


def test_two_lists_of_256_unique_words_with_known_entries() -> None:
    assert len(EVEN_WORDS) == 256 and len(set(EVEN_WORDS)) == 256
    assert len(ODD_WORDS) == 256 and len(set(ODD_WORDS)) == 256
    assert not {w.lower() for w in EVEN_WORDS} & {w.lower() for w in ODD_WORDS}
    assert (EVEN_WORDS[0x00], ODD_WORDS[0x00]) == ("aardvark", "adroitness")
    assert (EVEN_WORDS[0xFF], ODD_WORDS[0xFF]) == ("Zulu", "Yucatan")
    # entries spread over the table, as printed in the published lists
    assert (EVEN_WORDS[0x17], ODD_WORDS[0x17]) == ("banjo", "bookseller")
    assert (EVEN_WORDS[0x52], ODD_WORDS[0x52]) == ("Dupont", "enrollment")
    assert (EVEN_WORDS[0x80], ODD_WORDS[0x80]) == ("merit", "intention")
    assert (EVEN_WORDS[0xA5], ODD_WORDS[0xA5]) == ("reindeer", "paperweight")
    assert (EVEN_WORDS[0xE6], ODD_WORDS[0xE6]) == ("tracker", "trombonist")
    assert all(w.isascii() and w.isalpha() for w in EVEN_WORDS + ODD_WORDS)


def test_known_digest_reads_as_the_published_words() -> None:
    # SHA-256 of the empty string, each byte looked up in the published table
    digest = hashlib.sha256(b"").hexdigest()
    assert digest.startswith("e3b0c442")
    assert digest_words(digest) == [
        "tissue",
        "phonetic",
        "snowslide",
        "December",
        "printer",
        "Wilmington",
        "befriend",
        "belowground",
        "pupil",
        "Wichita",
        "upshot",
        "retrieval",
        "prowler",
        "hemisphere",
        "sentence",
        "Capricorn",
        "brackish",
        "performance",
        "cranky",
        "tradition",
        "flytrap",
        "Norwegian",
        "playhouse",
        "disbelief",
        "regain",
        "Montana",
        "prowler",
        "bravado",
        "island",
        "enrollment",
        "select",
        "equipment",
    ]
    # a published 16-byte test vector (PHP pgp-word-list encoder tests)
    assert " ".join(digest_words("12b4b0057400076fa5c0f5cbf726ac65")) == (
        "atlas politeness ruffled almighty indoors adroitness ahead hemisphere reindeer "
        "recipe vapor revival virus caretaker ribcage glossary"
    )


def test_every_byte_of_the_digest_is_spoken_and_words_round_trip() -> None:
    digest = hashlib.sha256(b"tuf-ceremony").hexdigest()
    words = digest_words(digest)
    assert SPOKEN_BYTES == 32 and len(words) == 32
    assert words_to_bytes(words).hex() == digest
    # a swapped pair of words lands each in the wrong list
    swapped = [words[1], words[0], *words[2:]]
    with pytest.raises(ValueError, match="word 1"):
        words_to_bytes(swapped)


@pytest.mark.parametrize("width", [20, 30, 40, 60, 80, 100, 132, 200])
def test_layout_numbers_rows_never_splits_words_and_keeps_words(width: int) -> None:
    for seed in range(50):
        words = digest_words(hashlib.sha256(str(seed).encode()).hexdigest())
        rows = layout_words(words, width)
        seen: list[str] = []
        for row in rows:
            assert len(row) <= max(width, 2 + 2 + 2 + 11), row
            number, *rest = row.split()
            assert int(number) == len(seen) + 1
            seen += rest
        assert seen == words


def test_layout_at_80_columns_is_four_rows_of_eight_when_they_fit() -> None:
    words = digest_words("ecce92a074cb89c260494bca0a9960408eaa578e42c80db7d962afd3112456a7")
    rows = layout_words(words, 80)
    assert rows[0] == ("   1  tumor sardonic physique Orlando  indoors revival nightbird repellent")
    assert [r.split()[0] for r in rows] == ["1", "9", "17", "25"]
    assert [r.split()[0] for r in layout_words(words, 60)] == ["1", "5", "9", "13", "17", "21", "25", "29"]
