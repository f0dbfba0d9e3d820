"""RFC 7512 PKCS#11 URIs: parsing and formatting.

A URI names a token and a key on it, e.g.
``pkcs11:token=root-1;serial=0a63;object=root;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so``.

Only the attributes tuf-ceremony uses are accepted; anything else is refused
with a message naming it, so that a typo never silently widens a selection.
A URI carrying a PIN (``pin-value``, ``pin-source``) is refused: a PIN never
goes on a command line, in a plan or in a shell history.

Pure Python: nothing here talks to a module or token.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote, unquote_to_bytes

from tuf_ceremony.errors import InputError

SCHEME = "pkcs11"

# Path attributes (RFC 7512 section 2.3), as attribute name -> dataclass field.
_PATH_ATTRS: dict[str, str] = {
    "token": "token",
    "serial": "serial",
    "manufacturer": "manufacturer",
    "model": "model",
    "object": "object",
    "id": "id",
    "type": "type",
    "slot-id": "slot_id",
    "slot-description": "slot_description",
    "slot-manufacturer": "slot_manufacturer",
    "library-manufacturer": "library_manufacturer",
    "library-description": "library_description",
    "library-version": "library_version",
}
_QUERY_ATTRS: dict[str, str] = {
    "module-path": "module_path",
    "module-name": "module_name",
}
_PIN_ATTRS = ("pin-value", "pin-source")
_TYPES = ("private", "public", "cert")

# Characters left unencoded in path values: RFC 3986 unreserved plus the
# sub-delimiters RFC 7512 allows in a path value (";" and "?" never are).
_PATH_SAFE = ":[]@!$'()*+,"
_QUERY_SAFE = ":[]@!$'()*+,/?|"

PIN_REFUSED = (
    "a PKCS#11 URI must not contain a PIN (pin-value or pin-source): a PIN never goes on "
    "the command line or in a file; remove it, tuf-ceremony asks for the PIN when it is needed"
)


@dataclass(frozen=True)
class PKCS11URI:
    """The attributes of a PKCS#11 URI that select a module, a token and a key."""

    token: str | None = None
    serial: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    object: str | None = None
    id: bytes | None = None
    type: str | None = None
    slot_id: int | None = None
    slot_description: str | None = None
    slot_manufacturer: str | None = None
    library_manufacturer: str | None = None
    library_description: str | None = None
    library_version: str | None = None
    module_path: str | None = None
    module_name: str | None = None

    @property
    def selects_token(self) -> bool:
        return any(
            v is not None
            for v in (
                self.token,
                self.serial,
                self.manufacturer,
                self.model,
                self.slot_id,
                self.slot_description,
                self.slot_manufacturer,
            )
        )

    @property
    def selects_key(self) -> bool:
        return self.object is not None or self.id is not None

    def with_module(self, module_path: str | None) -> PKCS11URI:
        return replace(self, module_path=module_path, module_name=None)

    def __str__(self) -> str:
        return format_uri(self)


def _decode_text(name: str, raw: str) -> str:
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"PKCS#11 URI attribute {name!r} is not UTF-8 after percent-decoding") from None


def parse_uri(uri: str) -> PKCS11URI:
    """Parse a ``pkcs11:`` URI; raise :class:`InputError` with a one-line reason.

    Error messages never repeat the URI itself: it might hold a PIN.
    """
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme.lower() != SCHEME:
        raise InputError("not a PKCS#11 URI (it must start with 'pkcs11:')")
    path, _, query = rest.partition("?")
    path_items = [p for p in path.split(";") if p] if path else []
    query_items = [q for q in query.split("&") if q] if query else []

    names = [item.partition("=")[0] for item in path_items + query_items]
    if any(n in _PIN_ATTRS for n in names):
        raise InputError(PIN_REFUSED)

    values: dict[str, object] = {}
    for item, allowed, where in (
        *((i, _PATH_ATTRS, "path") for i in path_items),
        *((i, _QUERY_ATTRS, "query") for i in query_items),
    ):
        name, eq, raw = item.partition("=")
        if not eq:
            raise InputError(f"PKCS#11 URI {where} attribute {name!r} has no '=value'")
        if name not in allowed:
            other = _QUERY_ATTRS if allowed is _PATH_ATTRS else _PATH_ATTRS
            if name in other:
                hint = f" (it belongs in the {'query' if where == 'path' else 'path'} part)"
            else:
                hint = f"; known: {', '.join(sorted(_PATH_ATTRS) + sorted(_QUERY_ATTRS))}"
            raise InputError(f"unknown PKCS#11 URI {where} attribute {name!r}{hint}")
        key = allowed[name]
        if key in values:
            raise InputError(f"PKCS#11 URI attribute {name!r} appears twice")
        values[key] = _attribute_value(name, raw)
    return PKCS11URI(**values)  # type: ignore[arg-type]


def _attribute_value(name: str, raw: str) -> bytes | int | str:
    """The decoded value of one attribute: bytes for ``id``, an int for
    ``slot-id``, else UTF-8 text (checked where the attribute has rules)."""
    if name == "id":
        return unquote_to_bytes(raw)
    text = _decode_text(name, raw)
    if name == "slot-id":
        if not text.isdigit():
            raise InputError(f"PKCS#11 URI slot-id must be a decimal number, not {text!r}")
        return int(text)
    if name == "type" and text not in _TYPES:
        raise InputError(f"PKCS#11 URI type must be one of {', '.join(_TYPES)}, not {text!r}")
    if name in ("module-path", "module-name") and not text:
        raise InputError(f"PKCS#11 URI {name} is empty")
    return text


def _enc(value: str, safe: str) -> str:
    return quote(value.encode("utf-8"), safe=safe)


def format_id(key_id: bytes) -> str:
    """A CKA_ID as an RFC 7512 value: every byte percent-encoded."""
    return "".join(f"%{b:02x}" for b in key_id)


def format_uri(uri: PKCS11URI) -> str:
    """The URI as text, attributes in a stable order, values percent-encoded."""
    path: list[str] = []
    for name, key in _PATH_ATTRS.items():
        value = getattr(uri, key)
        if value is None:
            continue
        if name == "id":
            path.append(f"id={format_id(value)}")
        elif name == "slot-id":
            path.append(f"slot-id={value}")
        else:
            path.append(f"{name}={_enc(value, _PATH_SAFE)}")
    query: list[str] = []
    for name, key in _QUERY_ATTRS.items():
        value = getattr(uri, key)
        if value is not None:
            query.append(f"{name}={_enc(value, _QUERY_SAFE)}")
    text = f"{SCHEME}:" + ";".join(path)
    if query:
        text += "?" + "&".join(query)
    return text


def is_pkcs11_uri(spec: str) -> bool:
    """Whether a ``--key`` argument is a PKCS#11 URI rather than a file path."""
    return spec[:7].lower() == f"{SCHEME}:"
