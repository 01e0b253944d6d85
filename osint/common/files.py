"""Writing files so that readers never see half of one."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from ..errors import OutputError


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Write to a temporary file beside `path`, then rename it over `path`.

    Readers see the old file or the whole new one, never half of one; on any error the old file
    is untouched and the temporary one is removed.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except FileExistsError:  # mkdir met a file where a folder of the path should be
        raise OutputError(f"cannot write {target}: {target.parent} is not a folder") from None
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an export is meant to be shared
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):  # a full disk, a directory where the file should go
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise

