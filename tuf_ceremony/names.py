"""Key names for display: keyid -> name, from the documents that give them.

Names are never trusted for anything but display: authorization always comes
from the metadata's keyids.
"""

from __future__ import annotations

from pathlib import Path

from tuf_ceremony.errors import InputError
from tuf_ceremony.files import load_json


def load_names(path: Path, notes: list[str] | None = None) -> dict[str, str]:
    """keyid -> name from a ceremony plan (TOML), a signing request, or a
    plain ``{"keyid": "name"}`` JSON object.

    A plan is read without its tokens: public key files give the keyids,
    keys named by a ``pkcs11:`` URI are left out (their keyid is on the
    token) and listed in ``notes``; a signing request names those too."""
    if path.suffix.lower() == ".toml":
        from tuf_ceremony.plan import load_plan_names

        names, by_uri = load_plan_names(path)
        if by_uri and notes is not None:
            notes.append(
                f"{path}: key(s) {', '.join(by_uri)} are named by a pkcs11: URI and stay "
                "unnamed without their token; the signing request of the ceremony that "
                "made them names them: add --names REQUEST.json"
            )
        return names
    data = load_json(path, "names file")
    if isinstance(data, dict) and "format" in data:
        from tuf_ceremony.request import parse_request

        return dict(parse_request(data, str(path)).key_names)
    if isinstance(data, dict) and data and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return dict(data)
    raise InputError("not a ceremony plan, signing request or {keyid: name} JSON object", source=str(path))
