"""Reading a ``delegations`` object the way python-tuf does.

python-tuf's ``Delegations.from_dict`` is the judge of what a delegation
may look like (unique role names, no top-level role names, exactly one of
``roles`` and ``succinct_roles``, well-formed keys). A large delegator
(PEP 458's targets, 16,384 roles) is judged by python-tuf while its roles
are already being checked; :func:`shape_ok` is the cheap pre-check that lets
jobs be built from the JSON meanwhile, and every role's own object is still
built by python-tuf (``DelegatedRole.from_dict`` / ``SuccinctRoles``).
"""

from __future__ import annotations

import copy
from typing import Any

from tuf.api.metadata import TOP_LEVEL_ROLE_NAMES

from tuf_ceremony.errors import FormatError
from tuf_ceremony.verify.doc import MetaDoc


def _reason(e: Exception) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def validate_delegations(deleg: Any, source: str) -> Any:
    """python-tuf's ``Delegations`` of a ``delegations`` JSON object;
    FormatError (python-tuf's reason) when it refuses it."""
    from tuf.api.metadata import Delegations

    if not isinstance(deleg, dict):
        raise FormatError("not valid TUF metadata: 'delegations' is not an object", source=source)
    try:
        return Delegations.from_dict(copy.deepcopy(deleg))
    except Exception as e:  # noqa: BLE001 - python-tuf raises several kinds
        raise FormatError(f"not valid TUF metadata: delegations: {_reason(e)}", source=source) from None


def parse_without_delegations(doc: MetaDoc) -> None:
    """python-tuf reads everything of a delegator but its delegations (those
    are read role by role, and by :func:`validate_delegations`)."""
    from tuf.api.metadata import Metadata

    signed = {k: copy.deepcopy(v) for k, v in doc.signed.items() if k != "delegations"}
    sigs = [{"keyid": k, "sig": v} for k, v in doc.signatures]
    try:
        Metadata.from_dict({"signed": signed, "signatures": sigs})
    except Exception as e:  # noqa: BLE001 - python-tuf raises several kinds
        raise FormatError(f"not valid TUF metadata: {_reason(e)}", source=doc.file) from None


def _role_shape_ok(r: Any, named: bool = True) -> bool:
    if type(r) is not dict:
        return False
    keyids = r.get("keyids")
    if type(keyids) is not list or type(r.get("threshold")) is not int:
        return False
    if named and type(r.get("name")) is not str:
        return False
    return all(type(k) is str for k in keyids)


def shape_ok(deleg: dict[str, Any]) -> bool:
    """Whether jobs can be built from ``deleg`` before python-tuf has read
    it: keys an object, exactly one of roles and succinct_roles, each role an
    object with a name, a list of keyids and an integer threshold."""
    roles, succinct = deleg.get("roles"), deleg.get("succinct_roles")
    if not isinstance(deleg.get("keys"), dict) or (roles is None) == (succinct is None):
        return False
    if roles is not None:
        return type(roles) is list and all(_role_shape_ok(r) for r in roles)
    return _role_shape_ok(succinct, named=False)


def check_role_names(roles: list[dict[str, Any]], source: str) -> None:
    """python-tuf's Delegations rules: role names unique, never a top-level
    role's name, never empty."""
    seen: set[str] = set()
    for r in roles:
        n = r["name"]
        if n in seen or n in TOP_LEVEL_ROLE_NAMES or not n:
            raise FormatError(
                f"not valid TUF metadata: delegated role name {n!r} is "
                + ("used twice" if n in seen else "not allowed"),
                source=source,
            )
        seen.add(n)


def delegated_specs(deleg: dict[str, Any], source: str) -> list[tuple[str, list[str], int, str, dict[str, Any]]]:
    """(name, keyids, threshold, kind, JSON spec) of every delegated role."""
    roles = deleg.get("roles")
    if roles is not None:
        check_role_names(roles, source)
        return [
            (r["name"], r["keyids"], r["threshold"], "hashed-bin" if "path_hash_prefixes" in r else "delegated", r)
            for r in roles
        ]
    from tuf.api.metadata import SuccinctRoles

    succinct = deleg["succinct_roles"]
    try:
        sr = SuccinctRoles.from_dict(dict(succinct))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise FormatError(f"not valid TUF metadata: succinct_roles: {e}", source=source) from None
    return [(name, succinct["keyids"], succinct["threshold"], "succinct-bin", succinct) for name in sr.get_roles()]
