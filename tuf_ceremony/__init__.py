"""tuf-ceremony: offline key ceremonies for TUF repositories.

This module stays import-light on purpose: the CLI's ``--help`` must start
fast, so nothing heavy (cryptography, tuf, pkcs11) is imported here.
"""

__version__ = "0.1.0"
