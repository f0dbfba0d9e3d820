"""Digests as words that keyholders read aloud and compare: the PGP word list.

The PGP word list (Juola and Zimmermann, 1995) has two lists of 256 words:
two-syllable words for bytes at even positions (0, 2, 4, ...) and
three-syllable words for bytes at odd positions. A swapped, repeated or
dropped word puts a word of the wrong kind in a position, so a listener
notices. IANA's root KSK ceremonies read hashes aloud with it.

All 32 bytes of a SHA-256 digest are spoken (32 words). A coordinator who
prepares the request is untrusted: with 16 words (128 bits) two different
payloads with the same words could be found by a birthday search of about
2**64 hashes, which is within reach of a well-funded attacker; 32 words keep
the full strength of SHA-256. docs/keyholder.md says how the words are read.

The words are the same on every terminal width: :func:`layout_words` only
decides where rows break (each row starts with the number of its first
word), never which words are shown, and never splits a word.
"""

from __future__ import annotations

# Byte value -> word for bytes at even positions (two syllables).
EVEN_WORDS: tuple[str, ...] = (
    "aardvark", "absurd", "accrue", "acme", "adrift", "adult", "afflict", "ahead",
    "aimless", "Algol", "allow", "alone", "ammo", "ancient", "apple", "artist",
    "assume", "Athens", "atlas", "Aztec", "baboon", "backfield", "backward", "banjo",
    "beaming", "bedlamp", "beehive", "beeswax", "befriend", "Belfast", "berserk", "billiard",
    "bison", "blackjack", "blockade", "blowtorch", "bluebird", "bombast", "bookshelf", "brackish",
    "breadline", "breakup", "brickyard", "briefcase", "Burbank", "button", "buzzard", "cement",
    "chairlift", "chatter", "checkup", "chisel", "choking", "chopper", "Christmas", "clamshell",
    "classic", "classroom", "cleanup", "clockwork", "cobra", "commence", "concert", "cowbell",
    "crackdown", "cranky", "crowfoot", "crucial", "crumpled", "crusade", "cubic", "dashboard",
    "deadbolt", "deckhand", "dogsled", "dragnet", "drainage", "dreadful", "drifter", "dropper",
    "drumbeat", "drunken", "Dupont", "dwelling", "eating", "edict", "egghead", "eightball",
    "endorse", "endow", "enlist", "erase", "escape", "exceed", "eyeglass", "eyetooth",
    "facial", "fallout", "flagpole", "flatfoot", "flytrap", "fracture", "framework", "freedom",
    "frighten", "gazelle", "Geiger", "glitter", "glucose", "goggles", "goldfish", "gremlin",
    "guidance", "hamlet", "highchair", "hockey", "indoors", "indulge", "inverse", "involve",
    "island", "jawbone", "keyboard", "kickoff", "kiwi", "klaxon", "locale", "lockup",
    "merit", "minnow", "miser", "Mohawk", "mural", "music", "necklace", "Neptune",
    "newborn", "nightbird", "Oakland", "obtuse", "offload", "optic", "orca", "payday",
    "peachy", "pheasant", "physique", "playhouse", "Pluto", "preclude", "prefer", "preshrunk",
    "printer", "prowler", "pupil", "puppy", "python", "quadrant", "quiver", "quota",
    "ragtime", "ratchet", "rebirth", "reform", "regain", "reindeer", "rematch", "repay",
    "retouch", "revenge", "reward", "rhythm", "ribcage", "ringbolt", "robust", "rocker",
    "ruffled", "sailboat", "sawdust", "scallion", "scenic", "scorecard", "Scotland", "seabird",
    "select", "sentence", "shadow", "shamrock", "showgirl", "skullcap", "skydive", "slingshot",
    "slowdown", "snapline", "snapshot", "snowcap", "snowslide", "solo", "southward", "soybean",
    "spaniel", "spearhead", "spellbind", "spheroid", "spigot", "spindle", "spyglass", "stagehand",
    "stagnate", "stairway", "standard", "stapler", "steamship", "sterling", "stockman", "stopwatch",
    "stormy", "sugar", "surmount", "suspense", "sweatband", "swelter", "tactics", "talon",
    "tapeworm", "tempest", "tiger", "tissue", "tonic", "topmost", "tracker", "transit",
    "trauma", "treadmill", "Trojan", "trouble", "tumor", "tunnel", "tycoon", "uncut",
    "unearth", "unwind", "uproot", "upset", "upshot", "vapor", "village", "virus",
    "Vulcan", "waffle", "wallet", "watchword", "wayside", "willow", "woodlark", "Zulu",
)

# Byte value -> word for bytes at odd positions (three syllables).
ODD_WORDS: tuple[str, ...] = (
    "adroitness", "adviser", "aftermath", "aggregate", "alkali", "almighty", "amulet", "amusement",
    "antenna", "applicant", "Apollo", "armistice", "article", "asteroid", "Atlantic", "atmosphere",
    "autopsy", "Babylon", "backwater", "barbecue", "belowground", "bifocals", "bodyguard", "bookseller",
    "borderline", "bottomless", "Bradbury", "bravado", "Brazilian", "breakaway", "Burlington", "businessman",
    "butterfat", "Camelot", "candidate", "cannonball", "Capricorn", "caravan", "caretaker", "celebrate",
    "cellulose", "certify", "chambermaid", "Cherokee", "Chicago", "clergyman", "coherence", "combustion",
    "commando", "company", "component", "concurrent", "confidence", "conformist", "congregate", "consensus",
    "consulting", "corporate", "corrosion", "councilman", "crossover", "crucifix", "cumbersome", "customer",
    "Dakota", "decadence", "December", "decimal", "designing", "detector", "detergent", "determine",
    "dictator", "dinosaur", "direction", "disable", "disbelief", "disruptive", "distortion", "document",
    "embezzle", "enchanting", "enrollment", "enterprise", "equation", "equipment", "escapade", "Eskimo",
    "everyday", "examine", "existence", "exodus", "fascinate", "filament", "finicky", "forever",
    "fortitude", "frequency", "gadgetry", "Galveston", "getaway", "glossary", "gossamer", "graduate",
    "gravity", "guitarist", "hamburger", "Hamilton", "handiwork", "hazardous", "headwaters", "hemisphere",
    "hesitate", "hideaway", "holiness", "hurricane", "hydraulic", "impartial", "impetus", "inception",
    "indigo", "inertia", "infancy", "inferno", "informant", "insincere", "insurgent", "integrate",
    "intention", "inventive", "Istanbul", "Jamaica", "Jupiter", "leprosy", "letterhead", "liberty",
    "maritime", "matchmaker", "maverick", "Medusa", "megaton", "microscope", "microwave", "midsummer",
    "millionaire", "miracle", "misnomer", "molasses", "molecule", "Montana", "monument", "mosquito",
    "narrative", "nebula", "newsletter", "Norwegian", "October", "Ohio", "onlooker", "opulent",
    "Orlando", "outfielder", "Pacific", "pandemic", "Pandora", "paperweight", "paragon", "paragraph",
    "paramount", "passenger", "pedigree", "Pegasus", "penetrate", "perceptive", "performance", "pharmacy",
    "phonetic", "photograph", "pioneer", "pocketful", "politeness", "positive", "potato", "processor",
    "provincial", "proximate", "puberty", "publisher", "pyramid", "quantity", "racketeer", "rebellion",
    "recipe", "recover", "repellent", "replica", "reproduce", "resistor", "responsive", "retraction",
    "retrieval", "retrospect", "revenue", "revival", "revolver", "sandalwood", "sardonic", "Saturday",
    "savagery", "scavenger", "sensation", "sociable", "souvenir", "specialist", "speculate", "stethoscope",
    "stupendous", "supportive", "surrender", "suspicious", "sympathy", "tambourine", "telephone", "therapist",
    "tobacco", "tolerance", "tomorrow", "torpedo", "tradition", "travesty", "trombonist", "truncated",
    "typewriter", "ultimate", "undaunted", "underfoot", "unicorn", "unify", "universe", "unravel",
    "upcoming", "vacancy", "vagabond", "vertigo", "Virginia", "visitor", "vocalist", "voyager",
    "warranty", "Waterloo", "whimsical", "Wichita", "Wilmington", "Wyoming", "yesteryear", "Yucatan",
)

assert len(EVEN_WORDS) == 256 and len(set(EVEN_WORDS)) == 256
assert len(ODD_WORDS) == 256 and len(set(ODD_WORDS)) == 256
assert not set(w.lower() for w in EVEN_WORDS) & set(w.lower() for w in ODD_WORDS)

SPOKEN_BYTES = 32
GROUP_SIZE = 4


def byte_word(position: int, value: int) -> str:
    """The word for byte ``value`` at ``position`` (0-based) in a digest."""
    return (EVEN_WORDS if position % 2 == 0 else ODD_WORDS)[value]


def digest_words(hex_digest: str, nbytes: int = SPOKEN_BYTES) -> list[str]:
    """The PGP words for the first ``nbytes`` bytes of ``hex_digest``."""
    data = bytes.fromhex(hex_digest)[:nbytes]
    return [byte_word(i, b) for i, b in enumerate(data)]


def words_to_bytes(words: list[str]) -> bytes:
    """The bytes a list of PGP words stands for (case-insensitive); raises
    ValueError naming the first word that is unknown or in the wrong place."""
    even = {w.lower(): i for i, w in enumerate(EVEN_WORDS)}
    odd = {w.lower(): i for i, w in enumerate(ODD_WORDS)}
    out = bytearray()
    for pos, word in enumerate(words):
        table = even if pos % 2 == 0 else odd
        value = table.get(word.lower())
        if value is None:
            raise ValueError(f"word {pos + 1} ({word!r}) is not a PGP word for its position")
        out.append(value)
    return bytes(out)


def numbered(words: list[str]) -> list[str]:
    """``["1 aardvark", "2 adroitness", ...]``."""
    return [f"{i} {w}" for i, w in enumerate(words, 1)]


ROW_WORDS = 2 * GROUP_SIZE


def layout_words(words: list[str], width: int, indent: str = "  ") -> list[str]:
    """The words in rows of two groups of :data:`GROUP_SIZE`, each row
    starting with the number of its first word::

         1  tumor sardonic physique Orlando  indoors revival nightbird repellent
         9  facial dinosaur dragnet revenue  allow nebula facial Dakota

    A row that does not fit in ``width`` columns is cut into rows of one
    group, then of fewer words, each again numbered; a word is never split.
    The words do not depend on the width, only where rows break."""
    lines: list[str] = []
    num_w = len(str(len(words)))

    def row(start: int, items: list[str]) -> str:
        groups = [" ".join(items[i : i + GROUP_SIZE]) for i in range(0, len(items), GROUP_SIZE)]
        return f"{indent}{start + 1:>{num_w}}  " + "  ".join(groups)

    def place(start: int, items: list[str]) -> None:
        text = row(start, items)
        if len(text) <= width or len(items) == 1:
            lines.append(text)
            return
        half = GROUP_SIZE if len(items) > GROUP_SIZE else max(1, len(items) // 2)
        place(start, items[:half])
        place(start + half, items[half:])

    for start in range(0, len(words), ROW_WORDS):
        place(start, words[start : start + ROW_WORDS])
    return lines


def group_hex(hex_digest: str, size: int = 4) -> str:
    """``1a2b 3c4d ...``: hex in groups that are easier to read aloud."""
    return " ".join(hex_digest[i : i + size] for i in range(0, len(hex_digest), size))
