"""The one exception hierarchy of tuf-ceremony, and its exit codes.

Every error the core raises derives from :class:`CeremonyError`. Each class
carries the process exit code the CLI uses for it; the mapping lives here and
nowhere else, and is documented in the README ("Exit codes").

Messages are one line, name the file (or token, or entry) concerned, and
never contain a secret.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status of ``tuf-ceremony``; :data:`EXIT_TABLE` says what each means."""

    OK = 0
    VERIFICATION_FAILED = 1
    USAGE = 2
    INVALID_INPUT = 3
    SIGNATURE_REFUSED = 4
    AUTHENTICATION_FAILED = 5
    TOKEN_ERROR = 6
    OUTPUT_EXISTS = 7
    ABORTED = 8
    ROTATION_REFUSED = 9
    INTERNAL_ERROR = 70
    INTERRUPTED = 130


# code -> (short name for --help, meaning for the README table). The README's
# table and ``tuf-ceremony --help`` are checked against this by
# tests/test_exit_codes.py.
EXIT_TABLE: dict[ExitCode, tuple[str, str]] = {
    ExitCode.OK: ("success", "success"),
    ExitCode.VERIFICATION_FAILED: (
        "verification failed",
        "verification failed: a signature, threshold, version or expiry does not hold "
        "(also: `merge`/`status` thresholds not met)",
    ),
    ExitCode.USAGE: ("usage", "usage error (unknown option, missing argument)"),
    ExitCode.INVALID_INPUT: (
        "invalid input",
        "invalid input: a file is missing, unreadable or malformed, or a plan is invalid",
    ),
    ExitCode.SIGNATURE_REFUSED: (
        "signature refused",
        "signature refused: invalid, for another request, duplicate, or unauthorized key",
    ),
    ExitCode.AUTHENTICATION_FAILED: (
        "authentication failed",
        "authentication failed: wrong passphrase or PIN, locked PIN, touch not given",
    ),
    ExitCode.TOKEN_ERROR: ("token error", "hardware token error: module, token, key or mechanism unavailable"),
    ExitCode.OUTPUT_EXISTS: ("output exists", "output exists: refusing to overwrite without `--force`"),
    ExitCode.ABORTED: ("aborted", "aborted: a confirmation was declined"),
    ExitCode.ROTATION_REFUSED: ("rotation refused", "rotation refused: the requested rotation is impossible or unsafe"),
    ExitCode.INTERNAL_ERROR: ("internal error", "internal error (a bug; `--debug` shows the traceback)"),
    ExitCode.INTERRUPTED: ("interrupted", "interrupted (Ctrl-C)"),
}


def exit_codes_help() -> str:
    """The exit codes in one sentence, for ``--help``."""
    return ", ".join(f"{int(code)} {short}" for code, (short, _) in EXIT_TABLE.items()) + "."


class CeremonyError(Exception):
    """Base class of every error tuf-ceremony reports to its user."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class InputError(CeremonyError):
    """A file or argument is missing, malformed or inconsistent (exit 3)."""

    exit_code = ExitCode.INVALID_INPUT


class PlanError(InputError):
    """A ceremony plan is invalid (exit 3)."""


class FormatError(InputError):
    """A request, bundle or metadata document is malformed (exit 3)."""


class VerificationError(CeremonyError):
    """Signatures, thresholds, versions or expiry do not hold (exit 1)."""

    exit_code = ExitCode.VERIFICATION_FAILED


class ThresholdError(VerificationError):
    """A role does not (or cannot) reach its signature threshold (exit 1)."""


class SignatureRefused(CeremonyError):
    """A signature or bundle is refused: invalid, foreign, duplicate or
    made by a key that is not authorized (exit 4)."""

    exit_code = ExitCode.SIGNATURE_REFUSED


class UnauthorizedKeyError(SignatureRefused):
    """The key is not in any role it would have to sign for (exit 4)."""


class AuthenticationError(CeremonyError):
    """Wrong passphrase or PIN, locked PIN, touch not given (exit 5)."""

    exit_code = ExitCode.AUTHENTICATION_FAILED


class TokenError(CeremonyError):
    """A PKCS#11 module, token or key cannot be used (exit 6)."""

    exit_code = ExitCode.TOKEN_ERROR


class OutputExistsError(CeremonyError):
    """An output file exists and ``--force`` was not given (exit 7)."""

    exit_code = ExitCode.OUTPUT_EXISTS


class Aborted(CeremonyError):
    """The user declined a confirmation (exit 8)."""

    exit_code = ExitCode.ABORTED


class RotationError(CeremonyError):
    """A rotation is impossible or unsafe as asked (exit 9)."""

    exit_code = ExitCode.ROTATION_REFUSED


# code -> meaning, as the README's table shows it.
EXIT_CODES: dict[int, str] = {int(code): meaning for code, (_, meaning) in EXIT_TABLE.items()}
