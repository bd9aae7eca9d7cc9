"""Writing a file whole or not at all, the one way the library writes files.

:func:`write_atomically` writes to a temporary file in the target's folder, flushes it to
disk (``fsync``), gives it the target's permission bits (or, for a new file, those the
umask allows: ``0o666 & ~umask``) and renames it over the target. On any exception, an
interrupt (Ctrl-C) included, the temporary file is removed and the target is left as it
was. A symbolic link at the target is replaced by the new file, not followed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import Any

__all__ = ["write_atomically"]


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: str, text: str, who: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically. ``who`` names the caller in the error
    raised when no temporary file can be made in the folder; other errors pass unchanged."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=folder)
    except OSError as e:
        raise type(e)(e.errno, f"{who}: cannot write in the folder of {path}: "
                               f"{e.strerror}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        target = os.lstat(path) if os.path.lexists(path) else None
        mode = (stat.S_IMODE(target.st_mode) if target is not None
                and stat.S_ISREG(target.st_mode) else _new_file_mode())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with _Quietly():
            os.unlink(tmp)
        raise
    with _Quietly():  # make the rename itself durable (POSIX; best effort elsewhere)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class _Quietly:
    """Ignore an OSError in the block (clean-up that may legitimately fail)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, tb: Any) -> bool:
        return kind is not None and issubclass(kind, OSError)
