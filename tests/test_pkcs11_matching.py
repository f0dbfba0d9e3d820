"""Token matching and mechanism choice on real SoftHSM2 tokens: every URI
attribute that selects a module or token, the token's PIN state, the signing
mechanism each key type falls back to, and what a token without one says."""

from __future__ import annotations

import pkcs11
import pytest
from pkcs11 import Mechanism, TokenFlag

from tests.fixtures_softhsm import SoftHSM, pin_handler
from tuf_ceremony.errors import InputError, SignatureRefused, TokenError
from tuf_ceremony.keytypes import KEY_TYPES
from tuf_ceremony.signers import pkcs11 as p11
from tuf_ceremony.signers.pkcs11.encoding import sign_mechanism
from tuf_ceremony.signers.pkcs11.tokens import pin_state

PAYLOAD = b"payload"


def test_library_and_slot_attributes_select_the_token(pkcs11_fresh: SoftHSM) -> None:
    lib = pkcs11.lib(pkcs11_fresh.module)
    token = lib.get_token(token_label="tuf-test-a")
    slot = token.slot
    major, minor = lib.library_version
    base = pkcs11_fresh.uri("tuf-test-a", "p256")
    for extra in (
        f"library-manufacturer={lib.manufacturer_id.strip()}".replace(" ", "%20"),
        f"library-version={major}.{minor}",
        f"library-version={major}",
        f"slot-id={slot.slot_id}",
        f"manufacturer={token.manufacturer_id.strip()}".replace(" ", "%20"),
        f"model={token.model.strip()}".replace(" ", "%20"),
        f"slot-description={slot.slot_description.strip()}".replace(" ", "%20"),
    ):
        key = p11.read_public_key(f"{base};{extra}")
        assert key.keytype == "ecdsa", extra
    for extra in (
        "library-manufacturer=Nobody",
        "library-version=99.1",
        "library-description=none",
        "model=other",
        "slot-id=999999",
    ):
        with pytest.raises(TokenError, match="token not present: no token matches"):
            p11.read_public_key(f"{base};{extra}")


def test_pin_state_names_every_flag() -> None:
    ready = TokenFlag.TOKEN_INITIALIZED | TokenFlag.USER_PIN_INITIALIZED
    assert pin_state(0) == "not initialized"
    assert pin_state(TokenFlag.TOKEN_INITIALIZED) == "no user PIN"
    assert pin_state(ready) == "ok"
    assert pin_state(ready | TokenFlag.USER_PIN_COUNT_LOW) == "count low"
    assert pin_state(ready | TokenFlag.USER_PIN_FINAL_TRY) == "final try"
    assert pin_state(ready | TokenFlag.USER_PIN_LOCKED) == "locked"


def test_mechanism_fallbacks() -> None:
    p256, ed, rsa = KEY_TYPES["ecdsa-p256"], KEY_TYPES["ed25519"], KEY_TYPES["rsa-3072"]
    full = sign_mechanism(p256, {Mechanism.ECDSA, Mechanism.ECDSA_SHA256}, "token")
    assert (full.mechanism, full.prehash) == (Mechanism.ECDSA, "sha256")  # hashed on the host
    on_token = sign_mechanism(KEY_TYPES["ecdsa-p384"], {Mechanism.ECDSA_SHA384}, "token")
    assert (on_token.mechanism, on_token.prehash) == (Mechanism.ECDSA_SHA384, None)
    pss = sign_mechanism(rsa, {Mechanism.RSA_PKCS_PSS}, "token")
    assert (pss.mechanism, pss.prehash) == (Mechanism.RSA_PKCS_PSS, "sha256")
    assert sign_mechanism(rsa, {Mechanism.SHA256_RSA_PKCS_PSS}, "token").prehash is None
    for kind, message in ((ed, "no CKM_EDDSA"), (p256, "no CKM_ECDSA"), (rsa, "no CKM_RSA_PKCS_PSS")):
        with pytest.raises(ValueError, match=message):
            sign_mechanism(kind, {Mechanism.SHA256}, "token 'x'")


def test_every_softhsm_mechanism_choice_signs(pkcs11_fresh: SoftHSM) -> None:
    for label in ("p256", "p384", "ed25519", "rsa"):
        signer = p11.open_pkcs11_signer(pkcs11_fresh.uri("tuf-test-a", label), None, pin_handler())
        signer.public_key.verify_signature(signer.sign(PAYLOAD), PAYLOAD)
        assert signer.uri.startswith("pkcs11:token=tuf-test-a;serial=")
        assert signer.token_label == "tuf-test-a"


def test_declared_scheme_must_be_the_tokens(pkcs11_fresh: SoftHSM) -> None:
    from securesystemslib.signer import SSlibKey

    key = p11.read_public_key(pkcs11_fresh.uri("tuf-test-a", "p256"))
    other = SSlibKey(key.keyid, key.keytype, "ecdsa-sha2-nistp384", dict(key.keyval))
    with pytest.raises(SignatureRefused, match="declares scheme ecdsa-sha2-nistp384"):
        p11.open_pkcs11_signer(pkcs11_fresh.uri("tuf-test-a", "p256"), other, pin_handler())


def test_uri_without_a_key_and_generate_errors(pkcs11_fresh: SoftHSM) -> None:
    with pytest.raises(InputError, match=r"names a token but no key, and \d+ keys match"):
        p11.read_public_key("pkcs11:token=tuf-test-a")
    with pytest.raises(InputError, match="unknown key type"):
        p11.generate_key(pkcs11_fresh.uri("tuf-test-a", "new"), "dsa-1024", pin_handler())
    with pytest.raises(InputError, match="must name the new key"):
        p11.generate_key("pkcs11:token=tuf-test-a", "ed25519", pin_handler())
    with pytest.raises(InputError, match=r"matches \d+ tokens; use one of: pkcs11:token="):
        p11.generate_key("pkcs11:object=fresh", "ed25519", pin_handler())
    assert p11.key_uri_for(pkcs11_fresh.uri("tuf-test-b", "p256")).startswith("pkcs11:token=tuf-test-b;serial=")


def test_no_pin_handler_means_no_login(pkcs11_fresh: SoftHSM) -> None:
    from tuf_ceremony.errors import AuthenticationError

    signer = p11.open_pkcs11_signer(pkcs11_fresh.uri("tuf-test-a", "p256"), None, None)
    with pytest.raises(AuthenticationError, match="needs its PIN but no way to ask for it"):
        signer.sign(PAYLOAD)


def test_token_errors_name_the_token(pkcs11_fresh: SoftHSM) -> None:
    from pkcs11 import exceptions as p11e

    from tuf_ceremony.errors import AuthenticationError
    from tuf_ceremony.signers.pkcs11.modules import modules
    from tuf_ceremony.signers.pkcs11.tokens import token_error, token_refs

    ref = next(r for m in modules(None) for r in token_refs(m) if r.label == "tuf-test-a")
    removed = token_error(ref, "signing", p11e.DeviceRemoved())
    assert isinstance(removed, TokenError) and "was removed (signing)" in str(removed)
    assert isinstance(token_error(ref, "login", p11e.PinLocked()), AuthenticationError)
    assert "wrong PIN for token 'tuf-test-a'" in str(token_error(ref, "login", p11e.PinIncorrect()))
    other = token_error(ref, "listing", p11e.GeneralError("the  module\nfailed"))
    assert str(other).endswith("listing: GeneralError (the module failed)")


def test_verify_progress_bar_runs_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from tuf_ceremony.cli.verify import _Progress

    progress = _Progress()
    progress(1, 10, "small levels show nothing")
    progress(100, 1000, "hashed bins")
    progress(1000, 1000, "hashed bins")
    progress.stop()
    progress.stop()  # idempotent
    assert capsys.readouterr().out == ""
