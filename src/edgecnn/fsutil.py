"""Writing artifacts so that a crash, a full disk or Ctrl-C never leaves a half-written file or set.

Everything edgecnn writes goes to a temporary name in the destination folder and is
renamed into place only when complete; rename is atomic on one filesystem.

A run that writes several files that describe each other (train: model.keras,
labels.txt, train.json; convert: the models, labels.txt, manifest.json) stages them
all in a hidden folder inside OUT (`OutputSet`) and moves them in together, the
describing file last: on any failure the previous set is put back as it was.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Iterator

from .errors import UsageError, WriteError  # WriteError: also imported from here

STAGING_PREFIX = ".edgecnn-staging-"
_commits = 0  # output sets committed by this process; see commits_done()


def ensure_output_dir(path: str | os.PathLike[str]) -> Path:
    """Create OUT (and parents) or explain in one line why it cannot be used."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: output path exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{out}: cannot create output folder ({exc.strerror or exc})") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise WriteError(f"{out}: output folder is not writable")
    return out


@contextlib.contextmanager
def output_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """ensure_output_dir(PATH) for one run: if the run fails (any exception, Ctrl-C included),
    the folders it created are removed again, as long as they are still empty.

    Raises UsageError (a path that is not a folder) or WriteError, as ensure_output_dir does.
    """
    out = Path(path)
    created = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    out = ensure_output_dir(out)
    try:
        yield out
    except BaseException:
        for folder in created:
            try:
                folder.rmdir()  # only an empty one: anything written stays
            except OSError:
                break
        raise


def commits_done() -> int:
    """How many output sets this process has committed (the CLI: is the run's product already on disk?)."""
    return _commits


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then deliver them: a commit is never cut between two renames.

    Only in the main thread (the only one Python delivers signals to); elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    held = {s: h for s, h in previous.items() if h is not None}  # None: set outside Python, cannot restore
    for s in held:
        signal.signal(s, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for s, handler in held.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


class OutputSet:
    """Files staged in a hidden folder inside OUT (so on the same filesystem) and moved in by commit().

    Use as a context manager: whatever was not committed is deleted on the way out.
    Every write raises WriteError (one line naming the file and the OS error) instead of OSError.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.names: list[str] = []
        try:
            self.stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out))
        except OSError as exc:
            raise WriteError(f"{self.out}: cannot write here ({_reason(exc)}); nothing was changed") from exc
        self._keep_stage = False

    def __enter__(self) -> "OutputSet":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self._keep_stage:
            shutil.rmtree(self.stage, ignore_errors=True)

    @contextlib.contextmanager
    def writing(self, name: str) -> Iterator[Path]:
        """The staged path for NAME, for writers that want a path (Keras); OSError becomes WriteError."""
        if name not in self.names:
            self.names.append(name)
        try:
            yield self.stage / name
        except OSError as exc:
            raise WriteError(f"{self.out / name}: cannot write ({_reason(exc)}); "
                             "nothing was changed in the folder") from exc

    def write_bytes(self, name: str, data: bytes) -> None:
        with self.writing(name) as path:
            path.write_bytes(data)

    def write_json(self, name: str, obj: Any) -> None:
        self.write_bytes(name, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode("utf-8"))

    def commit(self, last: str) -> dict[str, Path]:
        """Move every staged file into OUT, LAST (the file describing the others) at the end.

        LAST's previous version is taken away first, so even a killed process never leaves
        an old description next to new files. On failure every previous file is put back
        and WriteError is raised; if even that fails, the message says where they are kept.
        """
        global _commits
        order = [n for n in self.names if n != last] + [n for n in self.names if n == last]
        backup = self.stage / ".previous"
        aside: list[str] = []  # names whose previous file sits in backup
        placed: list[str] = []  # names whose new file is in OUT
        current = ""
        with signals_held():
            try:
                backup.mkdir()
                if last in order:
                    current = last
                    if _set_aside(self.out / last, backup / last):
                        aside.append(last)
                        with contextlib.suppress(FileNotFoundError):
                            (self.out / last).unlink()
                for name in order:
                    current = name
                    if _set_aside(self.out / name, backup / name) and name not in aside:
                        aside.append(name)
                    os.replace(self.stage / name, self.out / name)
                    placed.append(name)
            except OSError as exc:
                problem = f"{self.out / current}: cannot move into place ({_reason(exc)})"
                failed = self._roll_back(placed, aside, backup)
                if failed:
                    self._keep_stage = True
                    raise WriteError(f"{problem}; could not restore {', '.join(failed)}: "
                                     f"the previous files are in {backup}") from exc
                raise WriteError(f"{problem}; the previous files are unchanged") from exc
            _commits += 1
        return {name: self.out / name for name in order}

    def _roll_back(self, placed: list[str], aside: list[str], backup: Path) -> list[str]:
        """Undo a partial commit; the names that could not be restored."""
        failed = []
        for name in reversed(placed):
            if name not in aside:
                try:
                    (self.out / name).unlink()
                except OSError:
                    failed.append(name)
        for name in aside:
            try:
                os.replace(backup / name, self.out / name)
            except OSError:
                failed.append(name)
        return failed


def _set_aside(path: Path, backup: Path) -> bool:
    """Keep PATH's current file at BACKUP (a hard link, else a rename); False if there was none."""
    if not os.path.lexists(path):
        return False
    try:
        os.link(path, backup, follow_symlinks=False)
    except OSError:
        os.rename(path, backup)  # no hard links here (or a folder): move it; OSError propagates
    return True


def _reason(exc: OSError) -> str:
    """An OSError as a few words ("No space left on device"), never a traceback."""
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    return exc.strerror or str(exc) or type(exc).__name__


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside DEST; rename it to DEST only if the block succeeds.

    The temporary name keeps DEST's suffix because some writers (Keras) insist on it.
    """
    dest = Path(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".tmp{dest.suffix}", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers create it themselves; some refuse to overwrite
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes_atomic(dest: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_text_atomic(dest: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(dest, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_labels_file(path: str | os.PathLike[str]) -> list[str]:
    """labels.txt: one class name per line, in index order.

    Checked by edgecnn.documents (regular file, size, strict UTF-8, name count and
    length); raises ModelError naming the file.
    """
    from .documents import read_labels

    return read_labels(path)


def labels_text(names: list[str] | tuple[str, ...]) -> bytes:
    """labels.txt's bytes: one class name per line, in index order."""
    return "".join(f"{name}\n" for name in names).encode("utf-8")

