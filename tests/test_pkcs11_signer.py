"""PKCS#11 signing on real SoftHSM2 tokens: every key type, TUF metadata,
always-authenticate keys, PIN handling, several tokens, URI rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, Root

from tests.fixtures_softhsm import SHARED_KEYS, USER_PIN, SoftHSM, pin_handler
from tuf_ceremony.errors import AuthenticationError, InputError, SignatureRefused, TokenError
from tuf_ceremony.keys import keyid_of
from tuf_ceremony.signers import pkcs11 as p11
from tuf_ceremony.signers.pkcs11.encoding import public_from_attrs

PAYLOAD = b"signed bytes"


@pytest.mark.parametrize(
    ("label", "keytype", "scheme"),
    [
        ("p256", "ecdsa", "ecdsa-sha2-nistp256"),
        ("p384", "ecdsa", "ecdsa-sha2-nistp384"),
        ("ed25519", "ed25519", "ed25519"),
        ("rsa", "rsa", "rsassa-pss-sha256"),
    ],
)
def test_sign_and_verify_each_key_type(pkcs11_fresh: SoftHSM, label: str, keytype: str, scheme: str) -> None:
    uri = pkcs11_fresh.uri("tuf-test-a", label)
    key = p11.read_public_key(uri)
    assert (key.keytype, key.scheme) == (keytype, scheme)
    assert key.keyid == keyid_of(key.to_dict())

    signer = p11.open_pkcs11_signer(uri, key, pin_handler())
    sig = signer.sign(PAYLOAD)
    key.verify_signature(sig, PAYLOAD)  # securesystemslib verification

    # python-tuf: sign root metadata that delegates to this key, verify it.
    p11.register()
    root_md = Metadata(Root())
    root_md.signed.add_key(key, "root")
    tuf_signer = Signer.from_priv_key_uri(uri, key, pin_handler())
    assert isinstance(tuf_signer, p11.PKCS11Signer)
    root_md.sign(tuf_signer)
    root_md.signed.verify_delegate("root", root_md.signed_bytes, root_md.signatures)
    # a changed payload does not verify
    with pytest.raises(Exception, match="signature"):
        key.verify_signature(sig, PAYLOAD + b"x")


def test_always_authenticate_key_signs_with_context_login(pkcs11_fresh: SoftHSM) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    # SoftHSM2 really keeps CKA_ALWAYS_AUTHENTICATE on the key:
    lib = pkcs11.lib(pkcs11_fresh.module)
    with lib.get_token(token_label="tuf-test-a").open(user_pin=USER_PIN) as s:
        priv = s.get_key(object_class=ObjectClass.PRIVATE_KEY, label="always-auth")
        assert priv[Attribute.ALWAYS_AUTHENTICATE] is True
        assert isinstance(priv, pkcs11.SignMixin)
        # ... and enforces it: without a context-specific login, no signature
        with pytest.raises(pkcs11.UserNotLoggedIn):
            priv.sign(b"\0" * 32, mechanism=pkcs11.Mechanism.ECDSA)
    p11.close_sessions()

    notices: list[str] = []
    handler = pin_handler()
    uri = pkcs11_fresh.uri("tuf-test-a", "always-auth")
    signer = p11.open_pkcs11_signer(uri, None, handler, notify=notices.append)
    for _ in range(2):
        sig = signer.sign(PAYLOAD)
        signer.public_key.verify_signature(sig, PAYLOAD)
    assert handler.prompts == ["PIN for token 'tuf-test-a'"]
    assert notices == ["Touch the key on token 'tuf-test-a' now"] * 2


def test_one_pin_prompt_and_one_login_per_token(pkcs11_fresh: SoftHSM) -> None:
    p11.reset_session_stats()
    handler = pin_handler()
    signers = [
        p11.open_pkcs11_signer(pkcs11_fresh.uri("tuf-test-a", label), None, handler) for label in ("p256", "ed25519")
    ]
    assert handler.prompts == []  # no PIN until the first signature
    for signer in signers + signers:
        signer.public_key.verify_signature(signer.sign(PAYLOAD), PAYLOAD)
    assert handler.prompts == ["PIN for token 'tuf-test-a'"]
    stats = p11.session_stats()
    assert (stats.sessions_opened, stats.logins, stats.pin_prompts) == (1, 1, 1)


def test_wrong_pin_is_an_authentication_error(pkcs11_fresh: SoftHSM) -> None:
    uri = pkcs11_fresh.uri("tuf-test-a", "p256")
    signer = p11.open_pkcs11_signer(uri, None, pin_handler("0000"))
    with pytest.raises(AuthenticationError, match="wrong PIN for token 'tuf-test-a'") as exc:
        signer.sign(PAYLOAD)
    assert "0000" not in str(exc.value)
    assert exc.value.exit_code == 5
    # the right PIN still works afterwards, in the same process
    p11.close_sessions()
    good = p11.open_pkcs11_signer(uri, None, pin_handler())
    good.public_key.verify_signature(good.sign(PAYLOAD), PAYLOAD)


def test_same_label_on_two_tokens_is_ambiguous(pkcs11_fresh: SoftHSM) -> None:
    with pytest.raises(InputError, match="matches 2 keys") as exc:
        p11.open_pkcs11_signer("pkcs11:object=p256", None, pin_handler())
    msg = str(exc.value)
    serial_a = pkcs11_fresh.tokens["tuf-test-a"]
    serial_b = pkcs11_fresh.tokens["tuf-test-b"]
    assert f"pkcs11:token=tuf-test-a;serial={serial_a};object=p256;id=%01" in msg
    assert f"pkcs11:token=tuf-test-b;serial={serial_b};object=p256;id=%01" in msg
    # token= selects, and so does serial=
    key_b = p11.read_public_key("pkcs11:token=tuf-test-b;object=p256")
    assert p11.read_public_key(f"pkcs11:serial={serial_b};object=p256") == key_b
    signer = p11.open_pkcs11_signer("pkcs11:token=tuf-test-b;object=p256", key_b, pin_handler())
    key_b.verify_signature(signer.sign(PAYLOAD), PAYLOAD)
    # each candidate URI, copied from the message, works as is
    cand = msg.split("use one of these URIs: ")[1].split(" | ")[0]
    assert p11.read_public_key(cand).keyid in {
        key_b.keyid,
        p11.read_public_key("pkcs11:token=tuf-test-a;object=p256").keyid,
    }


def test_key_must_match_the_expected_public_key(pkcs11_fresh: SoftHSM) -> None:
    other = p11.read_public_key(pkcs11_fresh.uri("tuf-test-b", "p256"))
    with pytest.raises(SignatureRefused, match="key material"):
        p11.open_pkcs11_signer(pkcs11_fresh.uri("tuf-test-a", "p256"), other, pin_handler())


@pytest.mark.parametrize("attr", ["pin-value=1234", "pin-source=file:/tmp/pin"])
def test_uri_with_pin_is_refused(pkcs11_fresh: SoftHSM, attr: str) -> None:
    uri = f"pkcs11:token=tuf-test-a;object=p256?{attr}"
    with pytest.raises(InputError, match="never goes on the command line") as exc:
        p11.open_pkcs11_signer(uri, None, pin_handler())
    assert "1234" not in str(exc.value) and "/tmp/pin" not in str(exc.value)
    p11.register()
    p11.register()  # idempotent
    with_pin = f"pkcs11:token=tuf-test-a;object=p256;{attr}"
    with pytest.raises(InputError):
        Signer.from_priv_key_uri(with_pin, None)  # type: ignore[arg-type]  # refused before a key is needed


def test_module_not_loadable_lists_what_was_tried(pkcs11_fresh: SoftHSM, tmp_path: Path) -> None:
    bogus = tmp_path / "libnot-a-module.so"
    bogus.write_bytes(b"not an ELF file")
    with pytest.raises(TokenError, match="cannot load a PKCS#11 module; tried: ") as exc:
        p11.read_public_key(f"pkcs11:object=p256?module-path={bogus}")
    assert str(bogus) in str(exc.value)
    with pytest.raises(TokenError, match="file not found"):
        p11.list_tokens("/nonexistent/libmissing.so")


def test_key_not_found_and_token_not_present(pkcs11_fresh: SoftHSM) -> None:
    with pytest.raises(TokenError, match="key not found: no key with object='nope'") as exc:
        p11.read_public_key(pkcs11_fresh.uri("tuf-test-a", "nope"))
    assert "p256" in str(exc.value)  # the keys that are there are listed
    with pytest.raises(TokenError, match="token not present"):
        p11.read_public_key(pkcs11_fresh.uri("no-such-token", "p256"))
    # a token with several keys: the URI must name one (issue 10)
    with pytest.raises(InputError, match="names a token but no key"):
        p11.read_public_key("pkcs11:token=tuf-test-a")


def test_list_tokens_shows_keys_with_working_uris(pkcs11_fresh: SoftHSM) -> None:
    tokens = {t.label: t for t in p11.list_tokens()}
    a = tokens["tuf-test-a"]
    assert a.serial == pkcs11_fresh.tokens["tuf-test-a"]
    assert a.manufacturer == "SoftHSM project" and a.pin_state == "ok"
    types = {k.label: k.keytype for k in a.keys}
    assert {label: types[label] for label in SHARED_KEYS} == SHARED_KEYS
    for info in a.keys:
        assert p11.read_public_key(info.uri).keyid
        assert "module-path" not in info.uri  # SoftHSM2 is at a default location


def test_generate_refuses_existing_label_and_id(pkcs11_fresh: SoftHSM) -> None:
    with pytest.raises(InputError, match="already holds an object labelled 'p256'"):
        p11.generate_key(pkcs11_fresh.uri("tuf-test-a", "p256"), "ecdsa-p256", pin_handler())
    with pytest.raises(InputError, match="already holds an object with id 01"):
        p11.generate_key("pkcs11:token=tuf-test-a;object=fresh;id=%01", "ed25519", pin_handler())
    with pytest.raises(InputError, match="unknown key type"):
        p11.generate_key("pkcs11:token=tuf-test-a;object=x", "dsa", pin_handler())


def test_generated_private_key_is_sensitive_and_not_extractable(pkcs11_fresh: SoftHSM) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    lib = pkcs11.lib(pkcs11_fresh.module)
    with lib.get_token(token_label="tuf-test-a").open(user_pin=USER_PIN) as s:
        for label in SHARED_KEYS:
            priv = s.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
            assert priv[Attribute.TOKEN] is True
            assert priv[Attribute.PRIVATE] is True
            assert priv[Attribute.SENSITIVE] is True
            assert priv[Attribute.EXTRACTABLE] is False
            assert priv[Attribute.NEVER_EXTRACTABLE] is True


def test_private_key_without_public_object_is_found_after_login(pkcs11_fresh: SoftHSM) -> None:
    import uuid

    import pkcs11
    from pkcs11 import ObjectClass

    token = f"hidden-{uuid.uuid4().hex[:8]}"
    pkcs11_fresh.new_token(token)
    p11.generate_key(pkcs11_fresh.uri(token, "k"), "ecdsa-p256", pin_handler())
    p11.close_sessions()
    lib = pkcs11.lib(pkcs11_fresh.module)
    with lib.get_token(token_label=token).open(rw=True, user_pin=USER_PIN) as s:
        pub_obj = s.get_key(object_class=ObjectClass.PUBLIC_KEY, label="k")
        key = public_from_attrs(pub_obj)
        pub_obj.destroy()
    from securesystemslib.signer import SSlibKey

    from tuf_ceremony.keys import key_from_dict

    expected = key_from_dict(SSlibKey.from_crypto(key).to_dict(), "test")
    uri = pkcs11_fresh.uri(token, "k")
    with pytest.raises(TokenError, match="key not found"):
        p11.read_public_key(uri)  # nothing visible without login
    handler = pin_handler()
    signer = p11.open_pkcs11_signer(uri, expected, handler)
    assert handler.prompts == [f"PIN for token '{token}'"]
    expected.verify_signature(signer.sign(PAYLOAD), PAYLOAD)
    # the first signature proves the caller's key: another P-256 key is refused
    from cryptography.hazmat.primitives.asymmetric import ec

    other = key_from_dict(SSlibKey.from_crypto(ec.generate_private_key(ec.SECP256R1()).public_key()).to_dict(), "t")
    wrong = p11.open_pkcs11_signer(uri, other, pin_handler())
    with pytest.raises(SignatureRefused, match="made a signature that does not verify with key"):
        wrong.sign(PAYLOAD)
    # without a public key to check against, the token key cannot be used
    p11.close_sessions()
    with pytest.raises(TokenError, match="cannot read the public key"):
        p11.open_pkcs11_signer(uri, None, pin_handler())


def test_from_priv_key_uri_uses_the_default_notify(pkcs11_fresh: SoftHSM) -> None:
    p11.register()
    notices: list[str] = []
    p11.set_default_notify(notices.append)
    try:
        uri = pkcs11_fresh.uri("tuf-test-a", "always-auth")
        key = p11.read_public_key(uri)
        signer = Signer.from_priv_key_uri(uri, key, pin_handler())
        key.verify_signature(signer.sign(PAYLOAD), PAYLOAD)
    finally:
        p11.set_default_notify(None)
    assert notices == ["Touch the key on token 'tuf-test-a' now"]


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072"])
def test_signer_verification_agrees_with_securesystemslib(kind: str) -> None:
    """The signer's check of each token signature (cryptography on the key
    decoded once; securesystemslib for RSA) accepts and refuses exactly what
    securesystemslib's verify_signature does."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from securesystemslib.signer import Signature, SSlibKey

    from tuf_ceremony.keytypes import KEY_TYPES
    from tuf_ceremony.signers.pkcs11.signer import _verifier

    def sign(data: bytes) -> bytes:
        if isinstance(priv, ed25519.Ed25519PrivateKey):
            return priv.sign(data)
        if isinstance(priv, ec.EllipticCurvePrivateKey):
            algorithm = hashes.SHA256() if kind == "ecdsa-p256" else hashes.SHA384()
            return priv.sign(data, ec.ECDSA(algorithm))
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        return priv.sign(data, pss, hashes.SHA256())

    priv: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if kind == "ed25519":
        priv = ed25519.Ed25519PrivateKey.generate()
    elif kind.startswith("ecdsa"):
        priv = ec.generate_private_key(ec.SECP256R1() if kind == "ecdsa-p256" else ec.SECP384R1())
    else:
        priv = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    key = SSlibKey.from_crypto(priv.public_key())
    verify = _verifier(key, KEY_TYPES[kind])
    good = Signature(key.keyid, sign(PAYLOAD).hex())
    verify(good, PAYLOAD)
    key.verify_signature(good, PAYLOAD)
    flipped = bytearray(bytes.fromhex(good.signature))
    flipped[len(flipped) // 2] ^= 1
    for sig, data in ((good, PAYLOAD + b"x"), (Signature(key.keyid, flipped.hex()), PAYLOAD)):
        with pytest.raises(Exception) as ours:
            verify(sig, data)
        with pytest.raises(Exception) as theirs:
            key.verify_signature(sig, data)
        assert ours.type.__name__ in ("InvalidSignature", "UnverifiedSignatureError", "ValueError"), ours.type
        assert theirs.type.__name__ == "UnverifiedSignatureError"
