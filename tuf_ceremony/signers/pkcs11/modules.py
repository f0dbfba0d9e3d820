"""PKCS#11 module discovery.

The module is ``module-path`` from the URI (or ``module-name`` looked up in
the usual directories), else ``$TUF_CEREMONY_PKCS11_MODULE``, else the first
of the usual install locations that has a matching token.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pkcs11
from pkcs11 import exceptions as p11e

from tuf_ceremony.errors import TokenError
from tuf_ceremony.signers.pkcs11.uri import PKCS11URI

ENV_MODULE = "TUF_CEREMONY_PKCS11_MODULE"

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

# One lock for the module registry and the session pool.
LOCK = threading.RLock()

# The modules this process loaded, by real path (python-pkcs11 keeps one
# instance per file; this is our own record of which ones we use).
_LOADED: dict[str, Any] = {}


@dataclass
class Module:
    """A loaded PKCS#11 module."""

    path: str  # as configured (shown to users, put in URIs)
    lib: Any  # pkcs11.lib
    explicit: bool  # named by URI, option or environment

    @property
    def is_default(self) -> bool:
        real = os.path.realpath(self.path)
        return any(os.path.realpath(p) == real for p in DEFAULT_MODULES if os.path.exists(p))


class ModuleLoadError(Exception):
    """A module file is missing or does not load (the reason is the text)."""


def load_module(path: str) -> Any:
    """The python-pkcs11 ``lib`` of a module file."""
    if not os.path.exists(path):
        raise ModuleLoadError("file not found")
    real = os.path.realpath(path)
    try:
        lib = pkcs11.lib(real)
    except (p11e.PKCS11Error, OSError, RuntimeError) as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        raise ModuleLoadError(msg) from None
    with LOCK:
        _LOADED[real] = lib
    return lib


def reinitialize_modules() -> None:
    """C_Finalize and C_Initialize every module this process loaded, so
    tokens created meanwhile by another process become visible."""
    with LOCK:
        for lib in list(_LOADED.values()):
            try:
                lib.reinitialize()
            except p11e.PKCS11Error:
                pass


def _module_name_candidates(name: str) -> list[str]:
    dirs: list[str] = []
    for p in DEFAULT_MODULES:
        d = os.path.dirname(p)
        if d not in dirs:
            dirs.append(d)
    return [
        os.path.join(d, fname)
        for d in dirs
        for fname in (f"{name}.so", f"lib{name}.so", f"{name}.dylib", f"lib{name}.dylib")
    ]


def configured_modules(uri: PKCS11URI | None, module: str | None) -> tuple[list[str], bool]:
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


def modules(uri: PKCS11URI | None, module: str | None = None, failed: list[str] | None = None) -> Iterator[Module]:
    """Load the configured modules lazily; raise TokenError if none loads.
    Modules that fail to load are appended to ``failed`` (path and reason)."""
    paths, explicit = configured_modules(uri, module)
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
            lib = load_module(path)
        except ModuleLoadError as e:
            tried.append(f"{path} ({e})")
            if failed is not None:
                failed.append(tried[-1])
            continue
        loaded += 1
        yield Module(path, lib, explicit)
    if not loaded:
        raise TokenError(
            "cannot load a PKCS#11 module; tried: "
            + "; ".join(tried)
            + f" (check the path, or set module-path= in the key URI or {ENV_MODULE})"
        )
