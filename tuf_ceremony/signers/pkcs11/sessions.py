"""Sessions and login: one session per token per process, one login.

A per-process pool keeps one session per token (keyed by module and token
serial) and logs in on it at most once, so a run that signs root and targets
with one token asks for its PIN once. The PIN stays in memory only (it is
needed again for keys with CKA_ALWAYS_AUTHENTICATE) and is dropped by
:func:`close_sessions`.

python-pkcs11 logs in only while opening a new session; logging in on the
session already used to find the key keeps a run at one session and one
login per token. That one call (C_Login, and C_Logout) goes through the
module's CK_FUNCTION_LIST, and only after checking that the list is of a
PKCS#11 version whose layout is known (2.x, or 3.x whose list starts the same).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from dataclasses import dataclass

from pkcs11 import Mechanism, Session, TokenFlag
from pkcs11 import exceptions as p11e
from securesystemslib.signer import SecretsHandler

from tuf_ceremony.errors import AuthenticationError, TokenError
from tuf_ceremony.signers.pkcs11.modules import LOCK, reinitialize_modules
from tuf_ceremony.signers.pkcs11.tokens import TokenRef, token_error

Notify = Callable[[str], None]


@dataclass
class SessionStats:
    """Counters for tests and the benchmark."""

    sessions_opened: int = 0
    logins: int = 0
    pin_prompts: int = 0


STATS = SessionStats()


def session_stats() -> SessionStats:
    """Counters of sessions opened, logins and PIN prompts since the last
    :func:`reset_session_stats`."""
    return SessionStats(STATS.sessions_opened, STATS.logins, STATS.pin_prompts)


def reset_session_stats() -> None:
    """Zero the counters of :func:`session_stats`."""
    STATS.sessions_opened = STATS.logins = STATS.pin_prompts = 0


# --------------------------------------------------------------------------
# C_Login / C_Logout through the function list

# PKCS#11 constants and return values used by the login below.
_CKU_USER = 1
_CKR_OK = 0x0
_CKR_PIN_INCORRECT = 0xA0
_CKR_PIN_INVALID = 0xA1
_CKR_PIN_LEN_RANGE = 0xA2
_CKR_PIN_EXPIRED = 0xA3
_CKR_PIN_LOCKED = 0xA4
_CKR_USER_ALREADY_LOGGED_IN = 0x100
_CKR_USER_PIN_NOT_INITIALIZED = 0x102
_CKR_DEVICE_REMOVED = 0x32
_CKR_TOKEN_NOT_PRESENT = 0xE0

# CK_FUNCTION_LIST versions whose head (C_Initialize ... C_Logout) is laid
# out as below: every 2.x list from 2.01 on; 3.x lists begin with the same
# 2.40 functions.
_KNOWN_MAJOR_VERSIONS = (2, 3)
_C_LOGIN_INDEX = 18
_C_LOGOUT_INDEX = 19


class _FunctionList(ctypes.Structure):
    """The head of CK_FUNCTION_LIST, up to C_Logout."""

    _fields_ = [
        ("major", ctypes.c_ubyte),
        ("minor", ctypes.c_ubyte),
        *((f"f{i}", ctypes.c_void_p) for i in range(_C_LOGOUT_INDEX + 1)),
    ]


_LOGIN_PROTO = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong)
_LOGOUT_PROTO = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_ulong)


class LowLevel:
    """C_Login and C_Logout on an existing session.

    The module is the one python-pkcs11 already loaded (the same file, so the
    same instance and function list).
    """

    def __init__(self, module_path: str) -> None:
        lib = ctypes.CDLL(os.path.realpath(module_path))
        get_list = lib.C_GetFunctionList
        get_list.restype = ctypes.c_ulong
        get_list.argtypes = [ctypes.POINTER(ctypes.POINTER(_FunctionList))]
        ptr = ctypes.POINTER(_FunctionList)()
        rv = get_list(ctypes.byref(ptr))
        if rv != _CKR_OK or not ptr:
            raise TokenError(f"{module_path}: C_GetFunctionList failed (0x{rv:x})")
        flist = ptr.contents
        self.version = (int(flist.major), int(flist.minor))
        if self.version[0] not in _KNOWN_MAJOR_VERSIONS or self.version < (2, 1):
            raise TokenError(
                f"{module_path}: PKCS#11 function list version {self.version[0]}.{self.version[1]} "
                "is not one tuf-ceremony can log in through (2.x or 3.x)"
            )
        self._login = _LOGIN_PROTO(getattr(flist, f"f{_C_LOGIN_INDEX}"))
        self._logout = _LOGOUT_PROTO(getattr(flist, f"f{_C_LOGOUT_INDEX}"))

    def login(self, handle: int, pin: bytes | None) -> int:
        """C_Login as the user; ``None`` uses the protected authentication path."""
        return int(self._login(handle, _CKU_USER, pin, len(pin) if pin else 0))

    def logout(self, handle: int) -> int:
        return int(self._logout(handle))


_LOWLEVEL: dict[str, LowLevel] = {}


def session_handle(session: Session) -> int:
    """The session's CK_SESSION_HANDLE: ``Session.handle`` (public since
    python-pkcs11 0.9.1; its type stubs do not declare it)."""
    handle: int = session.handle  # type: ignore[attr-defined]
    return handle


def lowlevel(module_path: str) -> LowLevel:
    """The (cached) C_Login/C_Logout of a module, version-checked."""
    real = os.path.realpath(module_path)
    with LOCK:
        if real not in _LOWLEVEL:
            _LOWLEVEL[real] = LowLevel(real)
        return _LOWLEVEL[real]


def _pin_tries_hint(flags: int) -> str:
    if flags & TokenFlag.USER_PIN_LOCKED:
        return "; the PIN is now locked"
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return "; one try left before the PIN locks"
    if flags & TokenFlag.USER_PIN_COUNT_LOW:
        return "; the token reports few tries left before the PIN locks"
    return ""


def _locked_message(ref: TokenRef) -> str:
    return (
        f"the user PIN of {ref.describe()} is locked; unblock it with the PUK or "
        "SO PIN (YubiKey: ykman piv access unblock-pin) before signing"
    )


# --------------------------------------------------------------------------
# The pooled session of a token


class TokenSession:
    """The pooled session of one token, logged in at most once."""

    def __init__(self, ref: TokenRef) -> None:
        self.ref = ref
        self._session: Session | None = None
        self._logged_in = False
        self._pin: bytes | None = None  # memory only, for context-specific logins
        self._mechanisms: set[Mechanism] | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            try:
                self._session = self.ref.token.open()
            except p11e.PKCS11Error as e:
                raise token_error(self.ref, "cannot open a session", e) from None
            STATS.sessions_opened += 1
        return self._session

    @property
    def logged_in(self) -> bool:
        return self._logged_in

    @property
    def pin(self) -> str | None:
        return None if self._pin is None else self._pin.decode("utf-8")

    def mechanisms(self) -> set[Mechanism]:
        if self._mechanisms is None:
            try:
                self._mechanisms = set(self.ref.slot.get_mechanisms())
            except p11e.PKCS11Error as e:
                raise token_error(self.ref, "cannot list mechanisms", e) from None
        return self._mechanisms

    def current_flags(self) -> int:
        try:
            return int(self.ref.slot.get_token().flags)
        except p11e.PKCS11Error:
            return self.ref.flags

    def login(self, secrets_handler: SecretsHandler | None, notify: Notify | None) -> None:
        """Log in once; later calls do nothing."""
        if self._logged_in:
            return
        ref = self.ref
        flags = self.current_flags()
        if flags & TokenFlag.USER_PIN_LOCKED:
            raise AuthenticationError(_locked_message(ref))
        if not flags & TokenFlag.USER_PIN_INITIALIZED:
            raise TokenError(f"{ref.describe()} has no user PIN set; initialize it first")
        session = self.session
        if not flags & TokenFlag.LOGIN_REQUIRED:
            self._logged_in = True
            return
        calls = lowlevel(ref.module.path)
        if flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH:
            if notify is not None:
                notify(f"Enter the PIN on the PIN pad of {ref.describe()} now")
            pin = b""
            rv = calls.login(session_handle(session), None)
        else:
            if secrets_handler is None:
                raise AuthenticationError(f"{ref.describe()} needs its PIN but no way to ask for it was given")
            STATS.pin_prompts += 1
            pin = secrets_handler(f"PIN for token '{ref.label}'").encode("utf-8")
            rv = calls.login(session_handle(session), pin)
        if rv not in (_CKR_OK, _CKR_USER_ALREADY_LOGGED_IN):
            self._raise_login_error(rv)
        STATS.logins += 1
        self._logged_in = True
        self._pin = pin or None

    def _raise_login_error(self, rv: int) -> None:
        ref = self.ref
        if rv == _CKR_PIN_INCORRECT:
            hint = _pin_tries_hint(self.current_flags())
            raise AuthenticationError(f"wrong PIN for {ref.describe()}{hint}")
        if rv == _CKR_PIN_LOCKED:
            raise AuthenticationError(_locked_message(ref))
        if rv in (_CKR_PIN_LEN_RANGE, _CKR_PIN_INVALID):
            raise AuthenticationError(f"the PIN given for {ref.describe()} has an invalid length or characters")
        if rv == _CKR_PIN_EXPIRED:
            raise AuthenticationError(f"the PIN of {ref.describe()} has expired; change it")
        if rv == _CKR_USER_PIN_NOT_INITIALIZED:
            raise TokenError(f"{ref.describe()} has no user PIN set; initialize it first")
        if rv in (_CKR_DEVICE_REMOVED, _CKR_TOKEN_NOT_PRESENT):
            raise TokenError(f"{ref.describe()} was removed; insert it and run again")
        raise TokenError(f"login to {ref.describe()} failed (PKCS#11 error 0x{rv:x})")

    def replace_session(self) -> None:
        """After a failed operation: a fresh session, keeping the login (the
        login state belongs to the application, not to one session)."""
        old = self._session
        self._session = None
        try:
            self._session = self.ref.token.open()
            STATS.sessions_opened += 1
        except p11e.PKCS11Error:
            self._session = None
        if old is not None:
            try:
                old.close()
            except p11e.PKCS11Error:
                pass
        if self._session is None:
            self._logged_in = False

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                if self._logged_in:
                    lowlevel(self.ref.module.path).logout(session_handle(session))
                session.close()
            except (p11e.PKCS11Error, TokenError):
                pass
        self._logged_in = False
        self._pin = None


_POOL: dict[tuple[str, str], TokenSession] = {}


def pooled(ref: TokenRef) -> TokenSession:
    """The one session of the token ``ref`` names, made on first use."""
    with LOCK:
        entry = _POOL.get(ref.pool_key)
        if entry is None:
            entry = TokenSession(ref)
            _POOL[ref.pool_key] = entry
        return entry


def close_sessions() -> None:
    """Log out of and close every pooled session and forget PINs. Call at the
    end of a run (the CLI does) and between tests."""
    with LOCK:
        for entry in _POOL.values():
            entry.close()
        _POOL.clear()


def refresh_modules() -> None:
    """Close every session and re-initialize the loaded modules, so tokens
    created by another process (softhsm2-util, ykman) become visible."""
    close_sessions()
    reinitialize_modules()
