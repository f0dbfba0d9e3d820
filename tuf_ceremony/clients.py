"""What TUF clients accept: warnings for key types some clients reject.

ECDSA P-384 keys (scheme ``ecdsa-sha2-nistp384``) verify in python-tuf
(securesystemslib) and go-tuf, but two JavaScript clients hash the signed
bytes with SHA-256 for every ECDSA key, so a signature made with SHA-384 (as
the scheme says) never verifies there:

* tuf-js before 6.0 (its ``@tufjs/models`` before 5.0 calls Node's
  ``crypto.verify`` without a digest, which is SHA-256 for EC keys);
* tuf-browser 0.1.8 (its ``verifySignature`` defaults to SHA-256).

A repository whose clients include those would lock them out. The sources
read are listed in docs/hardware.md ("Which clients accept which keys").
"""

from __future__ import annotations

from securesystemslib.signer import Key

P384_SCHEME = "ecdsa-sha2-nistp384"

P384_CLIENTS = (
    "tuf-js before 6.0 (npm, sigstore-js) and tuf-browser 0.1.8 verify ECDSA "
    "with SHA-256 and reject its signatures; python-tuf and go-tuf accept it. "
    "Use ecdsa-p256 or ed25519 if such clients read this repository "
    "(docs/hardware.md)"
)


def is_p384(key: Key) -> bool:
    return key.scheme == P384_SCHEME


def p384_warning(what: str) -> str:
    """The warning for ``what`` (a key or role description) holding a P-384 key."""
    return f"{what} is an ECDSA P-384 key: {P384_CLIENTS}"


def role_key_warnings(source: str, roles: dict[str, list[tuple[str, Key]]]) -> list[str]:
    """One warning per P-384 key per role; ``roles``: role -> [(name, key)]."""
    out = []
    for role, keys in roles.items():
        for name, key in keys:
            if is_p384(key):
                out.append(p384_warning(f"{source}: {role}: key {name}"))
    return out
