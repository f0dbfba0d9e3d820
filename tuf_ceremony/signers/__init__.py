"""Signers: software keys (encrypted PKCS#8 PEM files) and PKCS#11 tokens.

``open_signer`` is the single entry point the core and CLI use to turn a
``--key`` argument into a securesystemslib ``Signer``.
"""
