"""Token matching: the tokens of a module, and which of them a URI selects."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pkcs11 import Slot, Token, TokenFlag
from pkcs11 import exceptions as p11e

from tuf_ceremony.errors import AuthenticationError, CeremonyError, TokenError
from tuf_ceremony.signers.pkcs11.modules import Module, modules
from tuf_ceremony.signers.pkcs11.uri import PKCS11URI


def text_of(value: object) -> str:
    """A PKCS#11 blank-padded text field as a Python string."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().rstrip("\x00").strip()


@dataclass
class TokenRef:
    """A token present in a slot of a loaded module."""

    module: Module
    slot: Slot
    token: Token
    label: str
    serial: str
    manufacturer: str
    model: str
    flags: int

    @property
    def pool_key(self) -> tuple[str, str]:
        ident = self.serial or f"slot-{self.slot.slot_id}"
        return (os.path.realpath(self.module.path), ident)

    def describe(self) -> str:
        return f"token '{self.label}'" + (f" (serial {self.serial})" if self.serial else "")

    def uri(self, obj: str | None = None, key_id: bytes | None = None) -> PKCS11URI:
        module = None if self.module.is_default else self.module.path
        if not self.flags & TokenFlag.TOKEN_INITIALIZED:
            return PKCS11URI(slot_id=int(self.slot.slot_id), module_path=module)
        return PKCS11URI(
            token=self.label,
            serial=self.serial or None,
            object=obj,
            id=key_id or None,
            module_path=module,
        )


def p11_name(e: BaseException) -> str:
    """A python-pkcs11 exception as ``Name (detail)``."""
    name = type(e).__name__
    detail = " ".join(str(e).split())
    return f"{name} ({detail})" if detail else name


def token_error(ref: TokenRef, what: str, e: BaseException) -> CeremonyError:
    """The CeremonyError for a PKCS#11 failure while doing ``what``."""
    if isinstance(e, p11e.DeviceRemoved | p11e.TokenNotPresent | p11e.SessionHandleInvalid):
        return TokenError(f"{ref.describe()} was removed ({what}); insert it and run again")
    if isinstance(e, p11e.PinLocked):
        return AuthenticationError(f"the user PIN of {ref.describe()} is locked")
    if isinstance(e, p11e.PinIncorrect):
        return AuthenticationError(f"wrong PIN for {ref.describe()}")
    return TokenError(f"{ref.describe()}: {what}: {p11_name(e)}")


def pin_state(flags: int) -> str:
    """The user PIN's state as ``key list`` shows it."""
    if not flags & TokenFlag.TOKEN_INITIALIZED:
        return "not initialized"
    if flags & TokenFlag.USER_PIN_LOCKED:
        return "locked"
    if not flags & TokenFlag.USER_PIN_INITIALIZED:
        return "no user PIN"
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return "final try"
    if flags & TokenFlag.USER_PIN_COUNT_LOW:
        return "count low"
    return "ok"


def _library_matches(uri: PKCS11URI, lib: Any) -> bool:
    if uri.library_manufacturer is not None and text_of(lib.manufacturer_id) != uri.library_manufacturer:
        return False
    if uri.library_description is not None and text_of(lib.library_description) != uri.library_description:
        return False
    if uri.library_version is not None:
        major, minor = lib.library_version
        if uri.library_version not in (f"{major}.{minor}", str(major)):
            return False
    return True


def token_refs(module: Module, initialized_only: bool = True) -> list[TokenRef]:
    """The tokens present in the module's slots."""
    refs: list[TokenRef] = []
    try:
        slots = module.lib.get_slots(token_present=True)
    except p11e.PKCS11Error as e:
        raise TokenError(f"cannot list the slots of {module.path}: {p11_name(e)}") from None
    for slot in slots:
        try:
            token = slot.get_token()
            flags = int(token.flags)
        except p11e.PKCS11Error:  # not present, not recognised, removed
            continue
        if initialized_only and not flags & TokenFlag.TOKEN_INITIALIZED:
            continue
        refs.append(
            TokenRef(
                module=module,
                slot=slot,
                token=token,
                label=text_of(token.label),
                serial=text_of(token.serial),
                manufacturer=text_of(token.manufacturer_id),
                model=text_of(token.model),
                flags=flags,
            )
        )
    return refs


def _token_matches(uri: PKCS11URI, ref: TokenRef) -> bool:
    checks: list[tuple[object, object]] = [
        (uri.token, ref.label),
        (uri.serial, ref.serial),
        (uri.manufacturer, ref.manufacturer),
        (uri.model, ref.model),
        (uri.slot_id, ref.slot.slot_id),
    ]
    if uri.slot_description is not None:
        checks.append((uri.slot_description, text_of(ref.slot.slot_description)))
    if uri.slot_manufacturer is not None:
        checks.append((uri.slot_manufacturer, text_of(ref.slot.manufacturer_id)))
    return all(want is None or want == have for want, have in checks)


def _describe_selection(uri: PKCS11URI) -> str:
    parts = [
        f"{name}={value!r}"
        for name, value in (
            ("token", uri.token),
            ("serial", uri.serial),
            ("manufacturer", uri.manufacturer),
            ("model", uri.model),
            ("slot-id", uri.slot_id),
        )
        if value is not None
    ]
    return ", ".join(parts) if parts else "any token"


def find_tokens(uri: PKCS11URI) -> list[TokenRef]:
    """Initialized tokens that match the URI, from the first module that has any."""
    seen: list[str] = []
    failed: list[str] = []
    for module in modules(uri, failed=failed):
        if not _library_matches(uri, module.lib):
            continue
        refs = token_refs(module)
        seen.extend(f"'{r.label}'" for r in refs)
        matches = [r for r in refs if _token_matches(uri, r)]
        if matches:
            return matches
    present = ", ".join(seen) if seen else "none"
    not_loaded = f"; modules that did not load: {'; '.join(failed)}" if failed else ""
    raise TokenError(
        f"token not present: no token matches {_describe_selection(uri)} "
        f"(tokens present: {present}{not_loaded}); insert the token or correct the URI"
    )
