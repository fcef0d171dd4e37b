"""Writing files so that a reader never sees half of one: temporary name, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from talkmesh_jax import TalkmeshError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renames it to `path` if the block succeeds.

    The temporary file keeps the suffix of `path` (so `np.save` and friends do not add one).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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
