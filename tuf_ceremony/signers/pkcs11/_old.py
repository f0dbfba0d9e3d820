"""Keys on PKCS#11 tokens: YubiKey PIV (ykcs11), YubiHSM 2, OpenSC, SoftHSM2.

:class:`PKCS11Signer` is a securesystemslib :class:`Signer` registered for the
``pkcs11:`` URI scheme (see :func:`register`), so
``Signer.from_priv_key_uri("pkcs11:...", key, secrets_handler)`` and python-tuf's
``Metadata.sign(signer)`` work with keys that never leave their token.

Design:

* Keys are named by RFC 7512 URIs (:mod:`tuf_ceremony.signers.pkcs11_uri`).
* The module is ``module-path`` from the URI, else ``$TUF_CEREMONY_PKCS11_MODULE``,
  else the first of the usual install locations that has a matching token.
* A per-process pool keeps one session per token (keyed by module and token
  serial) and logs in on it at most once, so a run that signs root and targets
  with one token asks for its PIN once. The PIN stays in memory only (it is
  needed again for keys with CKA_ALWAYS_AUTHENTICATE) and is dropped by
  :func:`close_sessions`.
* The public key is read from the token and must match the key the caller
  expects; every signature is verified before it is returned.
* Every failure a keyholder can act on is a :class:`CeremonyError` with a
  one-line message naming the token.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11e
from securesystemslib.signer import (
    SIGNER_FOR_URI_SCHEME,
    Key,
    SecretsHandler,
    Signature,
    Signer,
    SSlibKey,
)

from tuf_ceremony.errors import (
    AuthenticationError,
    CeremonyError,
    InputError,
    SignatureRefused,
    TokenError,
)
from tuf_ceremony.keys import key_from_dict, public_der
from tuf_ceremony.signers.pkcs11_uri import (
    PKCS11URI,
    format_uri,
    parse_uri,
)

Notify = Callable[[str], None]

ENV_MODULE = "TUF_CEREMONY_PKCS11_MODULE"

KEY_TYPES = ("ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072")

# Usual install locations, in the order they are tried when neither the URI
# nor the environment names a module.
DEFAULT_MODULES: tuple[str, ...] = (
    # Yubico ykcs11 (YubiKey PIV)
    "/usr/lib/x86_64-linux-gnu/libykcs11.so",
    "/usr/lib/aarch64-linux-gnu/libykcs11.so",
    "/usr/lib64/libykcs11.so",
    "/usr/lib/libykcs11.so",
    "/usr/local/lib/libykcs11.so",
    "/usr/local/lib/libykcs11.dylib",
    "/opt/homebrew/lib/libykcs11.dylib",
    # YubiHSM 2 (yubihsm-shell)
    "/usr/lib/x86_64-linux-gnu/pkcs11/yubihsm_pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/yubihsm_pkcs11.so",
    "/usr/lib64/pkcs11/yubihsm_pkcs11.so",
    "/usr/lib/pkcs11/yubihsm_pkcs11.so",
    "/usr/local/lib/pkcs11/yubihsm_pkcs11.so",
    "/usr/local/lib/pkcs11/yubihsm_pkcs11.dylib",
    "/opt/homebrew/lib/pkcs11/yubihsm_pkcs11.dylib",
    # OpenSC (Nitrokey HSM, smart cards)
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
    "/usr/local/lib/opensc-pkcs11.so",
    "/Library/OpenSC/lib/opensc-pkcs11.so",
    "/opt/homebrew/lib/opensc-pkcs11.so",
    # SoftHSM2 (rehearsals and tests)
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)

# DER encodings of the EC_PARAMS this signer understands.
_OID_P256 = bytes.fromhex("06082a8648ce3d030107")
_OID_P384 = bytes.fromhex("06052b81040022")
_OID_P521 = bytes.fromhex("06052b81040023")
_OID_ED25519 = bytes.fromhex("06032b6570")
_NAME_ED25519 = b"\x13\x0cedwards25519"

_RSA_PSS_PARAMS = (Mechanism.SHA256, pkcs11.MGF.SHA256, 32)

# PKCS#11 return values used by the low-level login below.
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


# --------------------------------------------------------------------------
# Key types


@dataclass(frozen=True)
class _KeyKind:
    """What the token holds, and how to sign with it."""

    name: str  # one of KEY_TYPES (or "ecdsa-p521", "rsa-NNNN")
    keytype: str  # TUF keytype
    scheme: str  # TUF scheme

    @property
    def is_ec(self) -> bool:
        return self.keytype == "ecdsa"


def _kind_of(public: Any) -> _KeyKind:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(public, ed25519.Ed25519PublicKey):
        return _KeyKind("ed25519", "ed25519", "ed25519")
    if isinstance(public, ec.EllipticCurvePublicKey):
        bits = public.curve.key_size
        hashbits = {256: 256, 384: 384, 521: 512}.get(bits)
        if hashbits is None:
            raise ValueError(f"unsupported curve {public.curve.name}")
        return _KeyKind(f"ecdsa-p{bits}", "ecdsa", f"ecdsa-sha2-nistp{bits}")
    if isinstance(public, rsa.RSAPublicKey):
        return _KeyKind(f"rsa-{public.key_size}", "rsa", "rsassa-pss-sha256")
    raise ValueError(f"unsupported key type {type(public).__name__}")


def _unwrap_octet_string(data: bytes, expected: Iterable[int]) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING by the standard, but some modules
    return the raw point: accept both."""
    lengths = set(expected)
    if len(data) in lengths:
        return data
    if len(data) >= 2 and data[0] == 0x04:
        n = data[1]
        offset = 2
        if n & 0x80:
            count = n & 0x7F
            n = int.from_bytes(data[2 : 2 + count], "big")
            offset = 2 + count
        body = data[offset:]
        if len(body) == n and n in lengths:
            return body
    raise ValueError(f"unexpected EC_POINT encoding ({len(data)} bytes)")


def _crypto_public_from_attrs(key_type: Any, obj: Any) -> Any:
    """A cryptography public key from the attributes of a token object."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if key_type == KeyType.RSA:
        n = int.from_bytes(obj[Attribute.MODULUS], "big")
        e = int.from_bytes(obj[Attribute.PUBLIC_EXPONENT], "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    params = bytes(obj[Attribute.EC_PARAMS])
    point = bytes(obj[Attribute.EC_POINT])
    if key_type == KeyType.EC_EDWARDS or params in (_OID_ED25519, _NAME_ED25519):
        if params not in (_OID_ED25519, _NAME_ED25519):
            raise ValueError("unsupported Edwards curve (only Ed25519 is)")
        return ed25519.Ed25519PublicKey.from_public_bytes(_unwrap_octet_string(point, [32]))
    if key_type == KeyType.EC:
        curves: dict[bytes, tuple[ec.EllipticCurve, int]] = {
            _OID_P256: (ec.SECP256R1(), 32),
            _OID_P384: (ec.SECP384R1(), 48),
            _OID_P521: (ec.SECP521R1(), 66),
        }
        if params not in curves:
            raise ValueError("unsupported EC curve (P-256, P-384 and P-521 are)")
        curve, size = curves[params]
        raw = _unwrap_octet_string(point, [2 * size + 1])
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, raw)
    raise ValueError(f"unsupported key type {key_type!r}")


def _tuf_key(public: Any, source: str) -> Key:
    d = SSlibKey.from_crypto(public).to_dict()
    return key_from_dict(d, source)


# --------------------------------------------------------------------------
# Modules


@dataclass
class _Module:
    path: str  # as configured (shown to users, put in URIs)
    lib: Any
    explicit: bool  # named by URI, option or environment

    @property
    def is_default(self) -> bool:
        real = os.path.realpath(self.path)
        return any(os.path.realpath(p) == real for p in DEFAULT_MODULES if os.path.exists(p))


class _ModuleLoadError(Exception):
    pass


_LOCK = threading.RLock()


def _load_module(path: str) -> Any:
    if not os.path.exists(path):
        raise _ModuleLoadError("file not found")
    real = os.path.realpath(path)
    try:
        return pkcs11.lib(real)
    except (p11e.PKCS11Error, OSError, RuntimeError) as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        raise _ModuleLoadError(msg) from None


def _module_name_candidates(name: str) -> list[str]:
    dirs: list[str] = []
    for p in DEFAULT_MODULES:
        d = os.path.dirname(p)
        if d not in dirs:
            dirs.append(d)
    out: list[str] = []
    for d in dirs:
        for fname in (f"{name}.so", f"lib{name}.so", f"{name}.dylib", f"lib{name}.dylib"):
            out.append(os.path.join(d, fname))
    return out


def _configured_modules(uri: PKCS11URI | None, module: str | None) -> tuple[list[str], bool]:
    """The module paths to try, and whether they were named explicitly."""
    if module:
        return [module], True
    if uri is not None and uri.module_path:
        return [uri.module_path], True
    if uri is not None and uri.module_name:
        found = [p for p in _module_name_candidates(uri.module_name) if os.path.exists(p)]
        if not found:
            raise TokenError(
                f"no PKCS#11 module named {uri.module_name!r} found; give its file with module-path= in the URI"
            )
        return found[:1], True
    env = os.environ.get(ENV_MODULE)
    if env:
        return [env], True
    seen: set[str] = set()
    present: list[str] = []
    for p in DEFAULT_MODULES:
        if os.path.exists(p):
            real = os.path.realpath(p)
            if real not in seen:
                seen.add(real)
                present.append(p)
    return present, False


def _modules(uri: PKCS11URI | None, module: str | None = None, failed: list[str] | None = None) -> Iterable[_Module]:
    """Load the configured modules lazily; raise TokenError if none loads.
    Modules that fail to load are appended to ``failed`` (path and reason)."""
    paths, explicit = _configured_modules(uri, module)
    if not paths:
        raise TokenError(
            "no PKCS#11 module found in the usual locations (ykcs11, YubiHSM, OpenSC, "
            f"SoftHSM2); install the module of your token, or set {ENV_MODULE} or "
            "module-path= in the key URI"
        )
    tried: list[str] = []
    loaded = 0
    for path in paths:
        try:
            lib = _load_module(path)
        except _ModuleLoadError as e:
            tried.append(f"{path} ({e})")
            if failed is not None:
                failed.append(tried[-1])
            continue
        loaded += 1
        yield _Module(path, lib, explicit)
    if not loaded:
        raise TokenError(
            "cannot load a PKCS#11 module; tried: "
            + "; ".join(tried)
            + f" (check the path, or set module-path= in the key URI or {ENV_MODULE})"
        )


# --------------------------------------------------------------------------
# Tokens


@dataclass
class _TokenRef:
    module: _Module
    slot: Any
    token: Any
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


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().rstrip("\x00").strip()


def _library_matches(uri: PKCS11URI, lib: Any) -> bool:
    if uri.library_manufacturer is not None and _text(lib.manufacturer_id) != (uri.library_manufacturer):
        return False
    if uri.library_description is not None and _text(lib.library_description) != (uri.library_description):
        return False
    if uri.library_version is not None:
        major, minor = lib.library_version
        wanted = uri.library_version
        if wanted not in (f"{major}.{minor}", str(major)):
            return False
    return True


def _token_refs(module: _Module, initialized_only: bool = True) -> list[_TokenRef]:
    refs: list[_TokenRef] = []
    try:
        slots = module.lib.get_slots(token_present=True)
    except p11e.PKCS11Error as e:
        raise TokenError(f"cannot list the slots of {module.path}: {_p11_name(e)}") from None
    for slot in slots:
        try:
            token = slot.get_token()
            flags = int(token.flags)
        except (p11e.TokenNotPresent, p11e.TokenNotRecognised, p11e.DeviceRemoved):
            continue
        except p11e.PKCS11Error:
            continue
        if initialized_only and not flags & TokenFlag.TOKEN_INITIALIZED:
            continue
        refs.append(
            _TokenRef(
                module=module,
                slot=slot,
                token=token,
                label=_text(token.label),
                serial=_text(token.serial),
                manufacturer=_text(token.manufacturer_id),
                model=_text(token.model),
                flags=flags,
            )
        )
    return refs


def _token_matches(uri: PKCS11URI, ref: _TokenRef) -> bool:
    checks: list[tuple[Any, Any]] = [
        (uri.token, ref.label),
        (uri.serial, ref.serial),
        (uri.manufacturer, ref.manufacturer),
        (uri.model, ref.model),
        (uri.slot_id, ref.slot.slot_id),
    ]
    if uri.slot_description is not None:
        checks.append((uri.slot_description, _text(ref.slot.slot_description)))
    if uri.slot_manufacturer is not None:
        checks.append((uri.slot_manufacturer, _text(ref.slot.manufacturer_id)))
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


def _find_tokens(uri: PKCS11URI) -> list[_TokenRef]:
    """Initialized tokens that match the URI, from the first module that has any."""
    seen: list[str] = []
    failed: list[str] = []
    for module in _modules(uri, failed=failed):
        if not _library_matches(uri, module.lib):
            continue
        refs = _token_refs(module)
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


# --------------------------------------------------------------------------
# Sessions: one per token per process, one login


@dataclass
class SessionStats:
    """Counters for tests and the benchmark."""

    sessions_opened: int = 0
    logins: int = 0
    pin_prompts: int = 0


_STATS = SessionStats()


def session_stats() -> SessionStats:
    """Counters of sessions opened, logins and PIN prompts since the last
    :func:`reset_session_stats`."""
    return SessionStats(_STATS.sessions_opened, _STATS.logins, _STATS.pin_prompts)


class _FunctionList(ctypes.Structure):
    """The head of CK_FUNCTION_LIST, up to C_Logout (PKCS#11 v2.40 order)."""

    _fields_ = [
        ("major", ctypes.c_ubyte),
        ("minor", ctypes.c_ubyte),
        *((f"f{i}", ctypes.c_void_p) for i in range(20)),
    ]


_LOGIN_PROTO = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong)
_LOGOUT_PROTO = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_ulong)
_C_LOGIN_INDEX = 18
_C_LOGOUT_INDEX = 19


class _LowLevel:
    """C_Login and C_Logout on an existing session.

    python-pkcs11 logs in only while opening a new session; logging in on the
    session already used to find the key keeps a run at one session and one
    login per token. The module is the one python-pkcs11 already loaded (the
    same file, so the same instance and function list).
    """

    def __init__(self, module_path: str) -> None:
        lib = ctypes.CDLL(os.path.realpath(module_path))
        get_list = lib.C_GetFunctionList
        get_list.restype = ctypes.c_ulong
        get_list.argtypes = [ctypes.POINTER(ctypes.POINTER(_FunctionList))]
        ptr = ctypes.POINTER(_FunctionList)()
        rv = get_list(ctypes.byref(ptr))
        if rv != _CKR_OK:
            raise TokenError(f"{module_path}: C_GetFunctionList failed (0x{rv:x})")
        flist = ptr.contents
        self._login = _LOGIN_PROTO(getattr(flist, f"f{_C_LOGIN_INDEX}"))
        self._logout = _LOGOUT_PROTO(getattr(flist, f"f{_C_LOGOUT_INDEX}"))

    def login(self, handle: int, pin: bytes | None) -> int:
        """C_Login as the user; ``None`` uses the protected authentication path."""
        return int(self._login(handle, _CKU_USER, pin, len(pin) if pin else 0))

    def logout(self, handle: int) -> int:
        return int(self._logout(handle))


_LOWLEVEL: dict[str, _LowLevel] = {}


def _lowlevel(module_path: str) -> _LowLevel:
    real = os.path.realpath(module_path)
    if real not in _LOWLEVEL:
        _LOWLEVEL[real] = _LowLevel(real)
    return _LOWLEVEL[real]


def _p11_name(e: BaseException) -> str:
    name = type(e).__name__
    detail = " ".join(str(e).split())
    return f"{name} ({detail})" if detail else name


def _pin_tries_hint(flags: int) -> str:
    if flags & TokenFlag.USER_PIN_LOCKED:
        return "; the PIN is now locked"
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return "; one try left before the PIN locks"
    if flags & TokenFlag.USER_PIN_COUNT_LOW:
        return "; the token reports few tries left before the PIN locks"
    return ""


class _TokenSession:
    """The pooled session of one token, logged in at most once."""

    def __init__(self, ref: _TokenRef) -> None:
        self.ref = ref
        self._session: Any = None
        self._logged_in = False
        self._pin: bytes | None = None  # memory only, for context-specific logins
        self._mechanisms: set[Any] | None = None

    @property
    def session(self) -> Any:
        if self._session is None:
            try:
                self._session = self.ref.token.open()
            except p11e.PKCS11Error as e:
                raise _token_error(self.ref, "cannot open a session", e) from None
            _STATS.sessions_opened += 1
        return self._session

    @property
    def logged_in(self) -> bool:
        return self._logged_in

    @property
    def pin(self) -> str | None:
        return None if self._pin is None else self._pin.decode("utf-8")

    def mechanisms(self) -> set[Any]:
        if self._mechanisms is None:
            try:
                self._mechanisms = set(self.ref.slot.get_mechanisms())
            except p11e.PKCS11Error as e:
                raise _token_error(self.ref, "cannot list mechanisms", e) from None
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
            raise AuthenticationError(
                f"the user PIN of {ref.describe()} is locked; unblock it with the PUK or "
                "SO PIN (YubiKey: ykman piv access unblock-pin) before signing"
            )
        if not flags & TokenFlag.USER_PIN_INITIALIZED:
            raise TokenError(f"{ref.describe()} has no user PIN set; initialize it first")
        session = self.session
        if not flags & TokenFlag.LOGIN_REQUIRED:
            self._logged_in = True
            return
        if flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH:
            if notify is not None:
                notify(f"Enter the PIN on the PIN pad of {ref.describe()} now")
            pin = b""
            rv = _lowlevel(ref.module.path).login(session.handle, None)
        else:
            if secrets_handler is None:
                raise AuthenticationError(f"{ref.describe()} needs its PIN but no way to ask for it was given")
            _STATS.pin_prompts += 1
            pin = secrets_handler(f"PIN for token '{ref.label}'").encode("utf-8")
            rv = _lowlevel(ref.module.path).login(session.handle, pin)
        if rv not in (_CKR_OK, _CKR_USER_ALREADY_LOGGED_IN):
            self._raise_login_error(rv)
        _STATS.logins += 1
        self._logged_in = True
        self._pin = pin or None

    def _raise_login_error(self, rv: int) -> None:
        ref = self.ref
        if rv == _CKR_PIN_INCORRECT:
            hint = _pin_tries_hint(self.current_flags())
            raise AuthenticationError(f"wrong PIN for {ref.describe()}{hint}")
        if rv == _CKR_PIN_LOCKED:
            raise AuthenticationError(
                f"the user PIN of {ref.describe()} is locked; unblock it with the PUK or "
                "SO PIN (YubiKey: ykman piv access unblock-pin) before signing"
            )
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
            _STATS.sessions_opened += 1
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
                    _lowlevel(self.ref.module.path).logout(session.handle)
                session.close()
            except (p11e.PKCS11Error, TokenError):
                pass
        self._logged_in = False
        self._pin = None


_POOL: dict[tuple[str, str], _TokenSession] = {}


def _pooled(ref: _TokenRef) -> _TokenSession:
    with _LOCK:
        entry = _POOL.get(ref.pool_key)
        if entry is None:
            entry = _TokenSession(ref)
            _POOL[ref.pool_key] = entry
        return entry


def close_sessions() -> None:
    """Log out of and close every pooled session and forget PINs. Call at the
    end of a run (the CLI does) and between tests."""
    with _LOCK:
        for entry in _POOL.values():
            entry.close()
        _POOL.clear()


def reset_session_stats() -> None:
    """Zero the counters of :func:`session_stats`."""
    _STATS.sessions_opened = _STATS.logins = _STATS.pin_prompts = 0


def refresh_modules() -> None:
    """Close every session and re-initialize the loaded modules, so tokens
    created by another process (softhsm2-util, ykman) become visible."""
    close_sessions()
    with _LOCK:
        for lib in list(pkcs11._loaded.values()):
            try:
                lib.reinitialize()
            except p11e.PKCS11Error:
                pass


def _token_error(ref: _TokenRef, what: str, e: BaseException) -> CeremonyError:
    if isinstance(e, p11e.DeviceRemoved | p11e.TokenNotPresent | p11e.SessionHandleInvalid):
        return TokenError(f"{ref.describe()} was removed ({what}); insert it and run again")
    if isinstance(e, p11e.PinLocked):
        return AuthenticationError(f"the user PIN of {ref.describe()} is locked")
    if isinstance(e, p11e.PinIncorrect):
        return AuthenticationError(f"wrong PIN for {ref.describe()}")
    return TokenError(f"{ref.describe()}: {what}: {_p11_name(e)}")


# --------------------------------------------------------------------------
# Keys on a token


@dataclass
class _KeyObjects:
    """The objects of one key: found by CKA_ID (or label when ids are empty)."""

    key_id: bytes
    labels: list[str] = field(default_factory=list)
    public: Any = None
    cert: Any = None
    private: Any = None

    @property
    def label(self) -> str | None:
        for obj in (self.private, self.public, self.cert):
            if obj is not None:
                label = _text(obj[Attribute.LABEL])
                if label:
                    return label
        return None

    def crypto_public(self) -> Any:
        """The public key, from a public key object, a certificate or
        the private key's public attributes; None when unreadable."""
        errors: list[str] = []
        if self.public is not None:
            try:
                return _crypto_public_from_attrs(self.public[Attribute.KEY_TYPE], self.public)
            except (ValueError, p11e.PKCS11Error) as e:
                errors.append(str(e))
        if self.cert is not None:
            from cryptography import x509

            try:
                cert = x509.load_der_x509_certificate(bytes(self.cert[Attribute.VALUE]))
                return cert.public_key()
            except (ValueError, p11e.PKCS11Error) as e:
                errors.append(str(e))
        if self.private is not None:
            try:
                return _crypto_public_from_attrs(self.private[Attribute.KEY_TYPE], self.private)
            except (ValueError, KeyError, p11e.PKCS11Error):
                pass
        if errors:
            raise ValueError(errors[0])
        return None


def _attr(obj: Any, attr: Any, default: Any = None) -> Any:
    try:
        return obj[attr]
    except (p11e.PKCS11Error, KeyError, NotImplementedError):
        return default


def _key_objects(session: Any) -> list[_KeyObjects]:
    groups: dict[tuple[bytes, str], _KeyObjects] = {}
    for cls, slot_name in (
        (ObjectClass.PRIVATE_KEY, "private"),
        (ObjectClass.PUBLIC_KEY, "public"),
        (ObjectClass.CERTIFICATE, "cert"),
    ):
        for obj in session.get_objects({Attribute.CLASS: cls}):
            key_id = bytes(_attr(obj, Attribute.ID, b"") or b"")
            label = _text(_attr(obj, Attribute.LABEL, "") or "")
            gkey = (key_id, "" if key_id else label)
            group = groups.get(gkey)
            if group is None:
                group = groups[gkey] = _KeyObjects(key_id)
            if getattr(group, slot_name) is None:
                setattr(group, slot_name, obj)
            if label and label not in group.labels:
                group.labels.append(label)
    return list(groups.values())


def _group_matches(uri: PKCS11URI, group: _KeyObjects) -> bool:
    if uri.id is not None and group.key_id != uri.id:
        return False
    # ``type`` is accepted but does not filter: the private key, public key
    # and certificate of one id are one key here.
    return uri.object is None or uri.object in group.labels


@dataclass
class _Located:
    entry: _TokenSession
    group: _KeyObjects

    def uri(self) -> PKCS11URI:
        return self.entry.ref.uri(self.group.label, self.group.key_id)


def _locate_key(
    uri: PKCS11URI,
    secrets_handler: SecretsHandler | None = None,
    notify: Notify | None = None,
) -> _Located:
    if not uri.selects_key:
        raise InputError(
            "the PKCS#11 URI names no key: add object=LABEL or id=%XX "
            "(tuf-ceremony key list shows the URIs of the keys on your tokens)"
        )
    refs = _find_tokens(uri)
    found: list[_Located] = []
    for ref in refs:
        entry = _pooled(ref)
        for group in _safe_key_objects(entry):
            if _group_matches(uri, group):
                found.append(_Located(entry, group))
    if not found and len(refs) == 1 and secrets_handler is not None:
        # The key may be a private object, invisible until login.
        entry = _pooled(refs[0])
        if not entry.logged_in:
            entry.login(secrets_handler, notify)
            found = [_Located(entry, g) for g in _safe_key_objects(entry) if _group_matches(uri, g)]
    if not found:
        where = ", ".join(r.describe() for r in refs)
        names = sorted({g.label or g.key_id.hex() for r in refs for g in _safe_key_objects(_pooled(r))})
        listing = ", ".join(names) if names else "none visible"
        raise TokenError(f"key not found: no key with {_describe_key(uri)} on {where} (keys there: {listing})")
    if len(found) > 1:
        candidates = " | ".join(format_uri(f.uri()) for f in found)
        raise InputError(f"the PKCS#11 URI matches {len(found)} keys; use one of these URIs: {candidates}")
    return found[0]


def _safe_key_objects(entry: _TokenSession) -> list[_KeyObjects]:
    try:
        return _key_objects(entry.session)
    except p11e.PKCS11Error as e:
        raise _token_error(entry.ref, "cannot list objects", e) from None


def _describe_key(uri: PKCS11URI) -> str:
    parts = []
    if uri.object is not None:
        parts.append(f"object={uri.object!r}")
    if uri.id is not None:
        parts.append(f"id={uri.id.hex()}")
    return " and ".join(parts)


def _public_of(located: _Located) -> Any:
    ref = located.entry.ref
    try:
        public = located.group.crypto_public()
    except ValueError as e:
        raise TokenError(f"cannot read the public key of {_where(located)}: {e}") from None
    except p11e.PKCS11Error as e:
        raise _token_error(ref, "cannot read the public key", e) from None
    return public


def _where(located: _Located) -> str:
    label = located.group.label or located.group.key_id.hex()
    return f"key '{label}' on {located.entry.ref.describe()}"


# --------------------------------------------------------------------------
# The signer

_DEFAULT_NOTIFY: Notify | None = None


def set_default_notify(notify: Notify | None) -> None:
    """The callable told "touch your key" by signers made through
    ``Signer.from_priv_key_uri`` (which cannot pass one)."""
    global _DEFAULT_NOTIFY
    _DEFAULT_NOTIFY = notify


class PKCS11Signer(Signer):
    """Signs with a private key that stays on a PKCS#11 token.

    Make it with :func:`open_pkcs11_signer` or ``Signer.from_priv_key_uri``.
    """

    SCHEME = "pkcs11"

    def __init__(
        self,
        located: _Located,
        public_key: Key,
        kind: _KeyKind,
        secrets_handler: SecretsHandler | None,
        notify: Notify | None,
    ) -> None:
        self._located = located
        self._public_key = public_key
        self._kind = kind
        self._secrets_handler = secrets_handler
        self._notify = notify
        self._priv_cache: tuple[Any, Any, bool] | None = None
        self._verifier = _verifier_for(public_key)
        self._mechanism, self._param, self._prehash = self._choose_mechanism()

    @property
    def public_key(self) -> Key:
        return self._public_key

    @property
    def uri(self) -> str:
        """The full URI of the key (token, serial, object, id)."""
        return format_uri(self._located.uri())

    @property
    def token_label(self) -> str:
        return self._located.entry.ref.label

    @classmethod
    def from_priv_key_uri(
        cls,
        priv_key_uri: str,
        public_key: Key,
        secrets_handler: SecretsHandler | None = None,
    ) -> PKCS11Signer:
        return open_pkcs11_signer(priv_key_uri, public_key, secrets_handler, _DEFAULT_NOTIFY)

    def _choose_mechanism(self) -> tuple[Any, Any, str | None]:
        entry = self._located.entry
        mechs = entry.mechanisms()
        kind = self._kind
        where = entry.ref.describe()
        if kind.keytype == "ed25519":
            if Mechanism.EDDSA not in mechs:
                raise TokenError(
                    f"{where} cannot sign with Ed25519 (no CKM_EDDSA; YubiKeys before "
                    "firmware 5.7 lack it): use an ecdsa-p256 key on this token"
                )
            return Mechanism.EDDSA, None, None
        if kind.is_ec:
            hash_name = {"ecdsa-p256": "sha256", "ecdsa-p384": "sha384"}.get(kind.name, "sha512")
            if Mechanism.ECDSA in mechs:  # hash on the host
                return Mechanism.ECDSA, None, hash_name
            on_token = {
                "sha256": Mechanism.ECDSA_SHA256,
                "sha384": Mechanism.ECDSA_SHA384,
                "sha512": Mechanism.ECDSA_SHA512,
            }[hash_name]
            if on_token in mechs:
                return on_token, None, None
            raise TokenError(f"{where} cannot sign with ECDSA (no CKM_ECDSA)")
        if Mechanism.SHA256_RSA_PKCS_PSS in mechs:
            return Mechanism.SHA256_RSA_PKCS_PSS, _RSA_PSS_PARAMS, None
        if Mechanism.RSA_PKCS_PSS in mechs:
            return Mechanism.RSA_PKCS_PSS, _RSA_PSS_PARAMS, "sha256"
        raise TokenError(f"{where} cannot sign with RSA-PSS (no CKM_RSA_PKCS_PSS)")

    def _private_key(self) -> tuple[Any, bool]:
        """The private key object and its CKA_ALWAYS_AUTHENTICATE, cached for
        the current session (a replaced session invalidates the cache)."""
        entry = self._located.entry
        session = entry.session
        cached = self._priv_cache
        if cached is not None and cached[0] is session:
            return cached[1], cached[2]
        group = self._located.group
        template: dict[Any, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
        if group.key_id:
            template[Attribute.ID] = group.key_id
        elif group.label:
            template[Attribute.LABEL] = group.label
        try:
            objs = list(session.get_objects(template))
        except p11e.PKCS11Error as e:
            raise _token_error(entry.ref, "cannot find the private key", e) from None
        if not objs:
            raise TokenError(f"key not found: {_where(self._located)} has no private key")
        if len(objs) > 1:
            raise TokenError(f"{_where(self._located)}: several private keys share its id")
        priv = objs[0]
        always_auth = bool(_attr(priv, Attribute.ALWAYS_AUTHENTICATE, False))
        self._priv_cache = (session, priv, always_auth)
        return priv, always_auth

    def _needs_touch(self, always_auth: bool) -> bool:
        """A YubiKey (ykcs11) may have a touch policy we cannot read over
        PKCS#11; an always-authenticate key waits for its PIN/touch too."""
        ref = self._located.entry.ref
        yubikey = "yubico" in ref.manufacturer.lower() and "yubihsm" not in ref.model.lower()
        return always_auth or yubikey

    def sign(self, payload: bytes) -> Signature:
        """Sign on the token; the signature is verified before it is returned."""
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        entry = self._located.entry
        ref = entry.ref
        entry.login(self._secrets_handler, self._notify)
        priv, always_auth = self._private_key()
        data = payload
        if self._prehash is not None:
            data = hashlib.new(self._prehash, payload).digest()
        if self._notify is not None and self._needs_touch(always_auth):
            self._notify(f"Touch the key on token '{ref.label}' now")
        pin = entry.pin if always_auth else None
        if always_auth and pin is None:
            raise AuthenticationError(
                f"{_where(self._located)} asks for its PIN at every signature, but no PIN was given at login"
            )
        try:
            raw = priv.sign(data, mechanism=self._mechanism, mechanism_param=self._param, pin=pin)
        except p11e.UserNotLoggedIn:
            entry.replace_session()
            raise AuthenticationError(
                f"{_where(self._located)}: the touch or PIN was not given; run again and touch the key when asked"
            ) from None
        except (p11e.PinIncorrect, p11e.PinLocked) as e:
            entry.replace_session()
            raise _token_error(ref, "context-specific login", e) from None
        except (p11e.MechanismInvalid, p11e.MechanismParamInvalid, p11e.KeyTypeInconsistent):
            entry.replace_session()
            raise TokenError(
                f"{ref.describe()} does not support {self._mechanism.name} for "
                f"{_where(self._located)}; use a key type this token supports"
            ) from None
        except p11e.PKCS11Error as e:
            entry.replace_session()
            raise _token_error(ref, f"signing with {_where(self._located)} failed", e) from None
        if self._kind.is_ec:
            half = len(raw) // 2
            if len(raw) % 2:
                raise SignatureRefused(f"{_where(self._located)} returned a malformed signature")
            raw = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
        signature = Signature(self._public_key.keyid, raw.hex())
        _verify_or_refuse(self._verifier, signature, payload, self._located)
        return signature


class _VerifyKey(SSlibKey):
    """The caller's key, for verifying each new signature: the same
    securesystemslib verification, with the public key parsed once rather
    than at every signature."""

    _parsed: Any = None

    def _crypto_key(self) -> Any:
        if self._parsed is None:
            self._parsed = super()._crypto_key()
        return self._parsed


def _verifier_for(key: Key) -> Key:
    if type(key) is SSlibKey:
        return _VerifyKey(key.keyid, key.keytype, key.scheme, dict(key.keyval), dict(key.unrecognized_fields))
    return key


def _verify_or_refuse(key: Key, signature: Signature, payload: bytes, located: _Located) -> None:
    from securesystemslib.exceptions import UnverifiedSignatureError

    try:
        key.verify_signature(signature, payload)
    except (UnverifiedSignatureError, ValueError) as e:
        raise SignatureRefused(
            f"{_where(located)} made a signature that does not verify with key "
            f"{key.keyid[:12]}; not using it ({type(e).__name__})"
        ) from None


# --------------------------------------------------------------------------
# Public functions


def register() -> None:
    """Register :class:`PKCS11Signer` for ``pkcs11:`` URIs (idempotent)."""
    SIGNER_FOR_URI_SCHEME[PKCS11Signer.SCHEME] = PKCS11Signer


def open_pkcs11_signer(
    uri: str,
    public_key: Key | None,
    secrets_handler: SecretsHandler | None,
    notify: Notify | None = None,
) -> PKCS11Signer:
    """A signer for the key ``uri`` names.

    ``public_key`` is the key the signatures must verify with (the one in the
    metadata); its material must equal the token's public key. ``None`` means:
    use the key read from the token. No PIN is asked here; the first
    :meth:`PKCS11Signer.sign` on a token asks once.
    """
    parsed = parse_uri(uri)
    located = _locate_key(parsed, secrets_handler, notify)
    crypto_public = _public_of(located)
    if crypto_public is None:
        # Only the private key is there; its public part must come from it
        # after login, or from the caller (then the first signature proves it).
        if public_key is None:
            raise TokenError(f"cannot read the public key of {_where(located)}; give the public key file")
        try:
            kind = _kind_from_key(public_key)
        except ValueError as e:
            raise InputError(f"unsupported public key: {e}") from None
        return PKCS11Signer(located, public_key, kind, secrets_handler, notify)
    try:
        kind = _kind_of(crypto_public)
    except ValueError as e:
        raise TokenError(f"{_where(located)}: {e}") from None
    token_key = _tuf_key(crypto_public, format_uri(located.uri()))
    if public_key is None:
        public_key = token_key
    else:
        try:
            expected = public_der(public_key)
        except (ValueError, TypeError) as e:
            raise InputError(f"unusable public key {public_key.keyid[:12]}: {e}") from None
        if expected != public_der(token_key):
            raise SignatureRefused(
                f"{_where(located)} is not key {public_key.keyid[:12]}: the key material "
                "on the token differs from the public key in the metadata"
            )
        if public_key.scheme != kind.scheme:
            raise SignatureRefused(
                f"{_where(located)} signs with {kind.scheme}, but key "
                f"{public_key.keyid[:12]} declares scheme {public_key.scheme}"
            )
    return PKCS11Signer(located, public_key, kind, secrets_handler, notify)


def _kind_from_key(key: Key) -> _KeyKind:
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    kind = _kind_of(load_der_public_key(public_der(key)))
    if kind.scheme != key.scheme:
        raise ValueError(f"scheme {key.scheme} is not supported for {kind.name} keys")
    return kind


def read_public_key(uri: str) -> Key:
    """The public key of a token key, as a TUF key (no login needed)."""
    parsed = parse_uri(uri)
    located = _locate_key(parsed)
    public = _public_of(located)
    if public is None:
        raise TokenError(
            f"the public key of {_where(located)} is not readable without logging in "
            "(no public key object or certificate on the token)"
        )
    try:
        _kind_of(public)
    except ValueError as e:
        raise TokenError(f"{_where(located)}: {e}") from None
    return _tuf_key(public, format_uri(located.uri()))


@dataclass(frozen=True)
class KeyInfo:
    label: str
    id: str  # hex
    keytype: str  # ed25519, ecdsa-p256, ecdsa-p384, rsa-3072, ... or "unknown (...)"
    uri: str


@dataclass(frozen=True)
class TokenInfo:
    module: str
    slot_id: int
    label: str
    manufacturer: str
    model: str
    serial: str
    pin_state: str  # ok, count low, final try, locked, not initialized
    uri: str
    keys: list[KeyInfo]


def _pin_state(flags: int) -> str:
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


def list_tokens(module: str | None = None) -> list[TokenInfo]:
    """Every token of the module (or of every module found) and the keys
    visible on it without logging in."""
    out: list[TokenInfo] = []
    for mod in _modules(None, module):
        for ref in _token_refs(mod, initialized_only=False):
            keys: list[KeyInfo] = []
            if ref.flags & TokenFlag.TOKEN_INITIALIZED:
                entry = _pooled(ref)
                groups = sorted(_safe_key_objects(entry), key=lambda g: (g.key_id, g.label or ""))
                for group in groups:
                    located = _Located(entry, group)
                    try:
                        public = group.crypto_public()
                        keytype = _kind_of(public).name if public is not None else "unknown"
                    except (ValueError, p11e.PKCS11Error) as e:
                        keytype = f"unknown ({e})"
                    keys.append(
                        KeyInfo(
                            label=group.label or "",
                            id=group.key_id.hex(),
                            keytype=keytype,
                            uri=format_uri(located.uri()),
                        )
                    )
            out.append(
                TokenInfo(
                    module=mod.path,
                    slot_id=int(ref.slot.slot_id),
                    label=ref.label,
                    manufacturer=ref.manufacturer,
                    model=ref.model,
                    serial=ref.serial,
                    pin_state=_pin_state(ref.flags),
                    uri=format_uri(ref.uri()),
                    keys=keys,
                )
            )
    return out


def generate_key(
    uri: str,
    keytype: str,
    secrets_handler: SecretsHandler | None,
    notify: Notify | None = None,
) -> Key:
    """Generate a key pair on the token the URI selects: sensitive, not
    extractable, labelled ``object``, with CKA_ID ``id`` (else the next free
    one-byte id). Refuses when an object with that label or id exists."""
    parsed = parse_uri(uri)
    if keytype not in KEY_TYPES:
        raise InputError(f"unknown key type {keytype!r}; choose one of {', '.join(KEY_TYPES)}")
    if not parsed.object:
        raise InputError("the PKCS#11 URI must name the new key: add object=LABEL")
    refs = _find_tokens(parsed)
    if len(refs) > 1:
        candidates = " | ".join(format_uri(r.uri()) for r in refs)
        raise InputError(f"the PKCS#11 URI matches {len(refs)} tokens; use one of: {candidates}")
    ref = refs[0]
    entry = _pooled(ref)
    gen_mech, sign_mechs = {
        "ed25519": (Mechanism.EC_EDWARDS_KEY_PAIR_GEN, {Mechanism.EDDSA}),
        "ecdsa-p256": (Mechanism.EC_KEY_PAIR_GEN, {Mechanism.ECDSA}),
        "ecdsa-p384": (Mechanism.EC_KEY_PAIR_GEN, {Mechanism.ECDSA}),
        "rsa-3072": (
            Mechanism.RSA_PKCS_KEY_PAIR_GEN,
            {Mechanism.SHA256_RSA_PKCS_PSS, Mechanism.RSA_PKCS_PSS},
        ),
    }[keytype]
    mechs = entry.mechanisms()
    if gen_mech not in mechs or not sign_mechs & mechs:
        raise TokenError(
            f"{ref.describe()} cannot generate or sign with {keytype} keys "
            "(mechanism not supported by this token); choose another --type"
        )
    entry.login(secrets_handler, notify)
    existing = _safe_key_objects(entry)
    for group in existing:
        if parsed.object in group.labels:
            raise InputError(
                f"{ref.describe()} already holds an object labelled {parsed.object!r}; choose another object= label"
            )
        if parsed.id is not None and group.key_id == parsed.id:
            raise InputError(f"{ref.describe()} already holds an object with id {parsed.id.hex()}; choose another id=")
    key_id = parsed.id if parsed.id is not None else _next_free_id(existing)
    public_template: dict[Any, Any] = {Attribute.PRIVATE: False}
    private_template: dict[Any, Any] = {
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
    }
    if keytype == "ed25519":
        public_template[Attribute.EC_PARAMS] = _OID_ED25519
        p11_type, length = KeyType.EC_EDWARDS, None
    elif keytype.startswith("ecdsa"):
        public_template[Attribute.EC_PARAMS] = _OID_P256 if keytype == "ecdsa-p256" else _OID_P384
        p11_type, length = KeyType.EC, None
    else:
        p11_type, length = KeyType.RSA, 3072
    try:
        with ref.token.open(rw=True) as rw_session:
            _STATS.sessions_opened += 1
            rw_session.generate_keypair(
                p11_type,
                length,
                id=key_id,
                label=parsed.object,
                store=True,
                capabilities=pkcs11.MechanismFlag.SIGN | pkcs11.MechanismFlag.VERIFY,
                mechanism=gen_mech,
                public_template=public_template,
                private_template=private_template,
            )
    except p11e.PKCS11Error as e:
        raise _token_error(ref, f"generating a {keytype} key failed", e) from None
    new_uri = ref.uri(parsed.object, key_id)
    return read_public_key(format_uri(new_uri))


def _next_free_id(groups: list[_KeyObjects]) -> bytes:
    used = {g.key_id for g in groups}
    for n in range(1, 256):
        candidate = bytes([n])
        if candidate not in used:
            return candidate
    return os.urandom(16)


def key_uri_for(uri: str) -> str:
    """The full URI (token, serial, object, id) of the one key ``uri`` selects."""
    return format_uri(_locate_key(parse_uri(uri)).uri())
