"""The one exception hierarchy of tuf-ceremony, and its exit codes.

Every error the core raises derives from :class:`CeremonyError`. Each class
carries the process exit code the CLI uses for it; the mapping lives here and
nowhere else, and is documented in the README ("Exit codes").

Messages are one line, name the file (or token, or entry) concerned, and
never contain a secret.
"""

from __future__ import annotations


class CeremonyError(Exception):
    """Base class of every error tuf-ceremony reports to its user."""

    exit_code = 3

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class InputError(CeremonyError):
    """A file or argument is missing, malformed or inconsistent (exit 3)."""

    exit_code = 3


class PlanError(InputError):
    """A ceremony plan is invalid (exit 3)."""


class FormatError(InputError):
    """A request, bundle or metadata document is malformed (exit 3)."""


class VerificationError(CeremonyError):
    """Signatures, thresholds, versions or expiry do not hold (exit 1)."""

    exit_code = 1


class ThresholdError(VerificationError):
    """A role does not (or cannot) reach its signature threshold (exit 1)."""


class SignatureRefused(CeremonyError):
    """A signature or bundle is refused: invalid, foreign, duplicate or
    made by a key that is not authorized (exit 4)."""

    exit_code = 4


class UnauthorizedKeyError(SignatureRefused):
    """The key is not in any role it would have to sign for (exit 4)."""


class AuthenticationError(CeremonyError):
    """Wrong passphrase or PIN, locked PIN, touch not given (exit 5)."""

    exit_code = 5


class TokenError(CeremonyError):
    """A PKCS#11 module, token or key cannot be used (exit 6)."""

    exit_code = 6


class OutputExistsError(CeremonyError):
    """An output file exists and ``--force`` was not given (exit 7)."""

    exit_code = 7


class Aborted(CeremonyError):
    """The user declined a confirmation (exit 8)."""

    exit_code = 8


class RotationError(CeremonyError):
    """A rotation is impossible or unsafe as asked (exit 9)."""

    exit_code = 9


# Documented in README.md; keep the two in step.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "verification failed: a signature, threshold, version or expiry does not hold",
    2: "usage error (unknown option, missing argument)",
    3: "invalid input: a file is missing, unreadable or malformed, or a plan is invalid",
    4: "signature refused: invalid, for another request, duplicate or unauthorized key",
    5: "authentication failed: wrong passphrase or PIN, locked PIN, touch not given",
    6: "hardware token error: module, token, key or mechanism unavailable",
    7: "output exists: refusing to overwrite without --force",
    8: "aborted: a confirmation was declined",
    9: "rotation refused: the requested rotation is impossible or unsafe",
    70: "internal error (a bug: please report it with the --debug output)",
}
