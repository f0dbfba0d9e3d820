"""SoftHSM2 tokens for tests: real PKCS#11, no mocks.

One SoftHSM2 configuration per test process (pytest-xdist workers each get
their own) in a temporary directory, selected through ``SOFTHSM2_CONF``; the
module is pinned through ``TUF_CEREMONY_PKCS11_MODULE``. Tokens are made with
``softhsm2-util`` and keys with tuf-ceremony's own ``generate_key``.

When SoftHSM2 is missing, the tests that need it are skipped on a developer
machine but FAIL under CI (``CI`` set): the project's set-up installs it, so
a missing module there is a broken set-up, not a reason to skip.

Fixtures:

* ``softhsm`` (session): the set-up; ``softhsm.new_token(label)`` makes a
  token (user PIN ``USER_PIN``) and returns its serial. Labels must be unique
  within the process (add a random suffix), or URIs naming them by label
  become ambiguous.
* ``softhsm_keys`` (session): tokens "tuf-test-a" (keys "p256", "p384",
  "ed25519", "rsa", "always-auth") and "tuf-test-b" (key "p256" again).
* ``pkcs11_fresh`` (function): the above, with tuf-ceremony's PKCS#11 session
  pool emptied before and after the test (no login carried between tests).

``pin_handler(pin)`` is a secrets handler recording its prompts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result

SO_PIN = "5678"
USER_PIN = "1234"

SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)

# The keys of the shared token "tuf-test-a": label -> key type.
SHARED_KEYS = {
    "p256": "ecdsa-p256",
    "p384": "ecdsa-p384",
    "ed25519": "ed25519",
    "rsa": "rsa-3072",
}


def find_softhsm_module() -> str | None:
    env = os.environ.get("SOFTHSM2_MODULE")
    if env and os.path.exists(env):
        return env
    for path in SOFTHSM_MODULES:
        if os.path.exists(path):
            return path
    return None


def _require_softhsm() -> tuple[str, str]:
    module = find_softhsm_module()
    util = shutil.which("softhsm2-util")
    if module and util:
        return module, util
    reason = "SoftHSM2 is not installed (softhsm2-util, libsofthsm2.so): run `make softhsm`"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} - CI must run the PKCS#11 tests", pytrace=False)
    pytest.skip(reason)


class PinHandler:
    """A secrets handler that answers ``pin`` and records each prompt."""

    def __init__(self, pin: str) -> None:
        self.pin = pin
        self.prompts: list[str] = []

    def __call__(self, message: str) -> str:
        self.prompts.append(message)
        return self.pin


def pin_handler(pin: str = USER_PIN) -> PinHandler:
    """A secrets handler that answers ``pin`` and records each prompt."""
    return PinHandler(pin)


@dataclass
class SoftHSM:
    """A SoftHSM2 token directory for this test process. ``module`` is the
    resolved path of libsofthsm2.so (load it by this path: python-pkcs11
    caches modules by path string)."""

    module: str
    util: str
    root: Path
    conf: Path
    tokens: dict[str, str] = field(default_factory=dict)  # label -> serial

    def _run(self, *args: str) -> str:
        proc = subprocess.run(
            [self.util, *args],
            capture_output=True,
            text=True,
            env={**os.environ, "SOFTHSM2_CONF": str(self.conf)},
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"softhsm2-util {args[0]} failed: {proc.stderr.strip()}")
        return proc.stdout

    def new_token(self, label: str, pin: str = USER_PIN) -> str:
        """Initialize a token in a free slot; returns its serial. Modules
        already loaded are re-initialized so that they see it."""
        self._run("--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", pin)
        serial = self._serial_of(label)
        self.tokens[label] = serial
        from tuf_ceremony.signers.pkcs11 import refresh_modules

        refresh_modules()
        return serial

    def _serial_of(self, label: str) -> str:
        out = self._run("--show-slots")
        serial = ""
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("Serial number:"):
                serial = line.split(":", 1)[1].strip()
            elif line.startswith("Label:") and line.split(":", 1)[1].strip() == label:
                return serial
        raise RuntimeError(f"token {label!r} not found after init")

    def uri(self, token: str, obj: str | None = None, **extra: str) -> str:
        parts = [f"token={token}"]
        if obj is not None:
            parts.append(f"object={obj}")
        parts += [f"{k.replace('_', '-')}={v}" for k, v in extra.items()]
        return "pkcs11:" + ";".join(parts)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHSM]:
    """A SoftHSM2 set-up for this process: SOFTHSM2_CONF and
    TUF_CEREMONY_PKCS11_MODULE point at it for the whole session (child
    processes such as the tuf-ceremony CLI inherit them)."""
    module, util = _require_softhsm()
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        mp.setenv("TUF_CEREMONY_PKCS11_MODULE", module)
        hsm = SoftHSM(module=os.path.realpath(module), util=util, root=root, conf=conf)
        yield hsm
        from tuf_ceremony.signers.pkcs11 import close_sessions

        close_sessions()


@pytest.fixture(scope="session")
def softhsm_keys(softhsm: SoftHSM) -> SoftHSM:
    """Tokens with keys, made once per process:

    * "tuf-test-a": one key of each supported type (labels in SHARED_KEYS)
      and "always-auth", a P-256 key with CKA_ALWAYS_AUTHENTICATE;
    * "tuf-test-b": a P-256 key labelled "p256" too (same label as on "a").
    """
    from tuf_ceremony.signers.pkcs11 import close_sessions, generate_key

    softhsm.new_token("tuf-test-a")
    softhsm.new_token("tuf-test-b")
    handler = pin_handler()
    for label, keytype in SHARED_KEYS.items():
        generate_key(softhsm.uri("tuf-test-a", label), keytype, handler)
    generate_key(softhsm.uri("tuf-test-b", "p256"), "ecdsa-p256", handler)
    close_sessions()  # make_always_authenticate_key logs in on its own session
    make_always_authenticate_key(softhsm, "tuf-test-a", "always-auth", b"\x42")
    close_sessions()
    return softhsm


def make_always_authenticate_key(hsm: SoftHSM, token: str, label: str, key_id: bytes) -> None:
    """A P-256 key whose private half has CKA_ALWAYS_AUTHENTICATE (like a
    YubiKey slot 9c key with PIN policy "always"), made with python-pkcs11."""
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag
    from pkcs11.util.ec import encode_named_curve_parameters

    lib = pkcs11.lib(os.path.realpath(hsm.module))
    tok = lib.get_token(token_label=token)
    with tok.open(rw=True, user_pin=USER_PIN) as session:
        session.generate_keypair(
            KeyType.EC,
            id=key_id,
            label=label,
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            mechanism=Mechanism.EC_KEY_PAIR_GEN,
            public_template={
                Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1"),
                Attribute.PRIVATE: False,
            },
            private_template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.ALWAYS_AUTHENTICATE: True,
            },
        )


@pytest.fixture
def pkcs11_fresh(softhsm_keys: SoftHSM) -> Iterator[SoftHSM]:
    """The shared tokens, with no session open and no login: each test
    starts (and ends) with an empty session pool and zeroed counters."""
    from tuf_ceremony.signers.pkcs11 import close_sessions, reset_session_stats

    close_sessions()
    reset_session_stats()
    yield softhsm_keys
    close_sessions()


def cli_token_key(hsm: SoftHSM, token: str, uri: str, public_out: Path) -> Result:
    """A new token ``token`` holding one P-256 key made by ``tuf-ceremony key
    generate --uri URI`` (the CLI, the PIN on stdin), its public key written
    to ``public_out``; the CLI's result (exit 0 checked)."""
    from tests.fixtures_core import run_cli

    hsm.new_token(token)
    r = run_cli(
        "key", "generate", "--type", "ecdsa-p256", "--uri", uri, "--public-out", public_out, input=USER_PIN + "\n"
    )
    assert r.exit_code == 0, r.output + r.stderr
    return r
