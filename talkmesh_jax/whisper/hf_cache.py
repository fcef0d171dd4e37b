"""Model ids in the Hugging Face cache, found without `huggingface_hub` (read-only, no network).

The cache layout is huggingface_hub's: `<cache>/models--<org>--<name>/refs/<revision>` holds the
commit hash of `snapshots/<hash>/`, the files as that commit has them. The cache is
`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
`~/.cache/huggingface/hub`. Downloading is left to Hugging Face's own CLI.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from talkmesh_jax import TalkmeshError

MODEL_ID = re.compile(r"[\w.-]+/[\w.-]+")


def hub_cache() -> Path:
    """The Hugging Face hub cache directory (it need not exist)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg).expanduser() / "huggingface" / "hub"


def cached_snapshot(model_id: str, revision: str = "main") -> Path | None:
    """The snapshot directory of `model_id` ("org/name") at `revision` (a branch, tag or
    commit hash) in the cache, or None when it is not there."""
    if not MODEL_ID.fullmatch(model_id):
        return None
    repo = hub_cache() / ("models--" + model_id.replace("/", "--"))
    ref = repo / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    snapshot = repo / "snapshots" / commit
    return snapshot if snapshot.is_dir() else None


def require_snapshot(model_id: str) -> Path:
    """`cached_snapshot(model_id)`, or a one-line error saying how to download it."""
    snapshot = cached_snapshot(model_id)
    if snapshot is None:
        raise TalkmeshError(
            f"{model_id}: no such directory and not in the Hugging Face cache ({hub_cache()}); "
            f"download it with `pip install huggingface_hub && hf download {model_id}` on a "
            "machine with internet access, or pass a directory holding config.json and "
            "model.safetensors"
        )
    return snapshot
