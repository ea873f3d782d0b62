"""The errors a user can cause or meet, each with the exit code the CLI returns for it.

Anything that is not a ``FieldfaceError`` is a bug: the CLI reports it in one line too, but with
exit code 1 and a pointer to the log, never a traceback on the user's terminal.
"""


class FieldfaceError(Exception):
    """Base of every expected failure; ``str(err)`` is the one line shown to the user."""

    exit_code = 1


class UsageError(FieldfaceError):
    """Bad arguments or bad input data (a file that is not an image, a bad CSV row, ...)."""

    exit_code = 2


class ConfigError(UsageError):
    """The configuration file is missing, unreadable or invalid."""


class LockedError(FieldfaceError):
    """No key could be obtained, or the key given does not unlock the data dir."""

    exit_code = 3


class WrongKeyError(LockedError):
    """A key was given but it does not unlock this data dir."""


class StoreError(FieldfaceError):
    """The data dir is missing, already exists, is damaged or is newer than this software."""

    exit_code = 4


class ImageError(UsageError):
    """An input that is not an image we can read: wrong format, damaged, too large, odd pixel type."""


class NoFaceError(UsageError):
    """A readable image in which the detector found no face."""


class ModelError(FieldfaceError):
    """A model file is missing, altered (sha256 mismatch), or cannot be loaded by the interpreter."""

    exit_code = 5


class AuditError(FieldfaceError):
    """The audit log, an export of it, or a received batch fails verification (tampering, damage)."""

    exit_code = 6


class SyncError(FieldfaceError):
    """Audit entries could not be delivered to, or received from, the central side."""

    exit_code = 7


class CameraError(FieldfaceError):
    """The camera is not configured, missing, busy (owned by another process) or gives no picture."""

    exit_code = 8


class WipedError(StoreError):
    """The data dir was crypto-erased (panic wipe): its key slots are gone for good."""


class AuthError(FieldfaceError):
    """A login that failed: unknown user, wrong password, locked out or disabled account."""

    exit_code = 9


class NotAllowedError(FieldfaceError):
    """A workflow rule refuses this user this action (role, training, ownership, two-person rule)."""

    exit_code = 10


class StepError(UsageError):
    """A workflow action out of order: the examination is not at the step the action belongs to."""


class NotFoundError(UsageError):
    """No such record (an examination, a candidate) on this unit: the web answers 404, the CLI
    exits 2 like any bad argument."""


class ErasedError(UsageError):
    """What was asked for was erased under the retention policy (the web answers 410 Gone)."""
