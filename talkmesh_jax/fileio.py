"""Writing files so that a reader never sees half of one: temporary name, then rename."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from talkmesh_jax import TalkmeshError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class PendingPath:
    """A temporary file (or folder, `folder=True`) beside `path`, moved onto `path` by `commit()`
    or deleted by `discard()`: a reader never sees half of it. The temporary name keeps the
    suffix of `path` (so `np.save` and friends do not add one)."""

    def __init__(self, path: str | os.PathLike, folder: bool = False):
        self.target = Path(path)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        prefix, suffix = f".{self.target.name}.", self.target.suffix
        if folder:
            self.tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=self.target.parent))
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=self.target.parent)
            os.close(fd)
            self.tmp = Path(name)
        # mkstemp/mkdtemp make private files; outputs get the usual permissions (umask applies)
        self.tmp.chmod((0o777 if folder else 0o666) & ~_umask())

    def commit(self) -> Path:
        if self.tmp.is_dir():
            old = self.target.with_name(f".{self.target.name}.old")
            if self.target.is_dir():
                shutil.rmtree(old, ignore_errors=True)
                os.replace(self.target, old)
            os.replace(self.tmp, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.target)
        return self.target

    def discard(self) -> None:
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renames it to `path` if the block succeeds."""
    pending = PendingPath(path)
    try:
        yield pending.tmp
        pending.commit()
    finally:
        pending.discard()


def write_json(path: str | os.PathLike, data: object) -> Path:
    """Writes `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return Path(path)


def read_json(path: str | os.PathLike, missing_hint: str = "") -> object:
    """Parsed JSON; a missing or malformed file is a TalkmeshError naming it."""
    path = Path(path)
    if not path.is_file():
        raise TalkmeshError(f"{path}: missing{f' ({missing_hint})' if missing_hint else ''}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise TalkmeshError(f"{path}: not valid JSON ({err})") from None
