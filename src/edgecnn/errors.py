"""Errors a user can act on.

Every failure a user can cause (bad file, bad flag, missing data) is raised as an
EdgecnnError subclass; the CLI prints its message on one line and exits with its
code, so nothing a user does should end in a traceback.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Every exit status edgecnn's commands and scripts return: the one table (README's "Reliability").

    An IntEnum, so `sys.exit(ExitStatus.ERROR)` and `return ExitStatus.SUCCESS` give the
    plain numbers shells and CI see.
    """

    SUCCESS = 0
    #: Some inputs of a batch failed (`classify`, `pi_classify.py`; doctor: a check FAILed);
    #: every other input was still processed.
    SOME_FAILED = 1
    #: Bad input or environment: one line on stderr.
    ERROR = 2
    #: A converted artifact failed verification (convert, pipeline).
    VERIFICATION_FAILED = 3
    #: Ctrl-C (128 + SIGINT) before the output was committed.
    INTERRUPTED = 130
    #: SIGTERM (128 + SIGTERM) before the output was committed.
    TERMINATED = 143

    @classmethod
    def for_signal(cls, signum: int) -> int:
        """128 + signum, the shell's convention (INTERRUPTED for SIGINT, TERMINATED for SIGTERM)."""
        return 128 + int(signum)


class EdgecnnError(Exception):
    """A problem with the user's input or environment; exit status ERROR (2)."""

    exit_code: int = ExitStatus.ERROR


class UsageError(EdgecnnError):
    """Bad arguments or bad input files."""


class DatasetError(EdgecnnError):
    """A dataset that is missing, corrupt, or unusable for training."""


class ModelError(EdgecnnError):
    """A model file that is missing, corrupt, or of the wrong shape."""


class ImageError(EdgecnnError):
    """An image that cannot be read or used; the message names the file."""


class NoItem(ImageError):
    """A picture with no item in it (blank, uniform, featureless): an answer, not a class.

    Raised by preprocess.prepare (and so by Classifier.classify on a picture that needs
    preparing) instead of letting the model guess a class for an empty frame. It is an
    ImageError so that any caller that does not handle it specially still reports it
    as a problem with that one picture rather than a made-up label. Callers that report
    answers (classify, camera, serve, pi_classify.py) print "no item" (JSON "no_item": true)
    and do not count it as a failure.
    """


class WriteError(EdgecnnError):
    """An output folder or set that could not be created, written or moved into place.

    The previous files are unchanged (fsutil.OutputSet rolls back), so the user fixes the
    folder (space, permissions) and runs the same command again.
    """


class CameraError(EdgecnnError):
    """A camera or video source that cannot be opened, or stopped giving frames."""


class ClusterError(EdgecnnError):
    """Multi-worker training: a peer that cannot be reached, does not join in time, or was lost.

    Not a UsageError: the flags may be right and the network or another machine wrong.
    """


class VerificationError(EdgecnnError):
    """A converted artifact that does not match the Keras model closely enough.

    The artifacts are written anyway (and marked failed in manifest.json), so the error
    carries the run's `result` (a convert.ConvertResult) for a caller that reports them.
    """

    exit_code: int = ExitStatus.VERIFICATION_FAILED

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


def one_line(exc: BaseException, limit: int = 200, *, typed: bool = False) -> str:
    """`exc`'s message as one line for a user: whitespace runs collapsed, cut to `limit` characters.

    Args:
      exc: the exception (libraries' messages are often multi-line and long).
      limit: the most characters of the message kept.
      typed: prefix the exception's type name ("OSError: ...").

    Returns:
      The shortened message; the type name when the message is empty.
    """
    text = " ".join(str(exc).split())[:limit]
    name = type(exc).__name__
    if not text:
        return name
    return f"{name}: {text}" if typed else text
