"""Digests as words that keyholders read aloud and compare.

Each byte of the digest maps to one of 256 distinct, common English words, so
two keyholders can confirm over the phone or across the room that they sign
the same bytes. The first 16 bytes (128 bits) are spoken; the full hex digest
is always shown beside them.
"""

from __future__ import annotations

WORDS: tuple[str, ...] = (
    "acid", "acorn", "actor", "adapt", "admit", "adult", "agent", "alarm", "album", "alert",
    "alley", "amber", "angle", "ankle", "apple", "april", "apron", "arena", "argue", "arrow",
    "aspen", "atlas", "attic", "audio", "autumn", "avoid", "award", "bacon", "badge", "bagel",
    "baker", "bamboo", "banjo", "barley", "basin", "beach", "beard", "beaver", "bench",
    "berry", "bicycle", "bison", "blanket", "blossom", "board", "bonus", "border", "bottle",
    "bracket", "brain", "branch", "bread", "brick", "bridge", "bronze", "broom", "bubble",
    "bucket", "buffalo", "bundle", "butter", "button", "cabin", "cactus", "camel", "candle",
    "canoe", "canvas", "canyon", "carbon", "carpet", "castle", "cattle", "cedar", "cellar",
    "cement", "cherry", "chess", "chimney", "circle", "citrus", "clock", "cloud", "clover",
    "cobalt", "cocoa", "coffee", "comet", "copper", "coral", "cotton", "cousin", "coyote",
    "crater", "crayon", "cricket", "crystal", "cup", "curtain", "daisy", "dancer", "delta",
    "denim", "desert", "diamond", "dinner", "dolphin", "donkey", "dragon", "drum", "eagle",
    "echo", "eclipse", "elbow", "elder", "ember", "engine", "falcon", "feather", "fennel",
    "ferry", "fiddle", "finger", "flame", "flute", "forest", "fossil", "fountain", "fox",
    "galaxy", "garden", "garlic", "gazelle", "geyser", "giant", "ginger", "glacier", "globe",
    "goat", "gold", "gopher", "granite", "grape", "gravel", "guitar", "hammer", "harbor",
    "harvest", "hazel", "helmet", "heron", "hockey", "honey", "horizon", "hornet", "husky",
    "igloo", "indigo", "island", "ivory", "jacket", "jaguar", "jasmine", "jelly", "jewel",
    "jigsaw", "jockey", "juggler", "jungle", "kayak", "kettle", "kidney", "kitten", "koala",
    "ladder", "lagoon", "lantern", "laptop", "lemon", "leopard", "lettuce", "library", "lily",
    "lime", "lizard", "lobster", "locket", "lotus", "magnet", "mango", "maple", "marble",
    "meadow", "melon", "mercury", "meteor", "mirror", "mitten", "monkey", "moose", "mosaic",
    "motor", "muffin", "museum", "mustard", "napkin", "nectar", "needle", "nickel", "noodle",
    "nutmeg", "oasis", "ocean", "olive", "onion", "opal", "orange", "orbit", "orchid", "otter",
    "oyster", "paddle", "panda", "papaya", "parrot", "peach", "peanut", "pebble", "pelican",
    "pencil", "pepper", "piano", "pickle", "pigeon", "pillow", "pilot", "planet", "plum",
    "pocket", "polar", "pony", "poppy", "potato", "prism", "puffin", "pumpkin", "puzzle",
    "quartz", "quill", "rabbit", "radio", "radish", "raven", "ribbon", "river", "robin",
)
assert len(WORDS) == 256 and len(set(WORDS)) == 256

SPOKEN_BYTES = 16


def digest_words(hex_digest: str, nbytes: int = SPOKEN_BYTES) -> list[str]:
    """Words for the first ``nbytes`` bytes of ``hex_digest``."""
    data = bytes.fromhex(hex_digest)[:nbytes]
    return [WORDS[b] for b in data]


def group_hex(hex_digest: str, size: int = 4) -> str:
    """``1a2b3c4d 5e6f...``: hex in groups that are easier to read aloud."""
    return " ".join(hex_digest[i : i + size] for i in range(0, len(hex_digest), size))
