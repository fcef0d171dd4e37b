"""The one map of a run folder (`talkmesh train --workdir RUN`): every file a run holds, named
here once; training writes them, and eval, export, plot and the benchmarks read them.

    RUN/config.json                  the resolved config (`talkmesh train --config RUN/config.json`)
    RUN/data_fingerprint.json        the data the run trains on (a resume on other data is refused)
    RUN/reference/<name>.npy         mean_face, close_mouth_face [V, 3]; mean_blendshapes [K];
                                     triangles [F, 3] (mesh runs)
    RUN/audio_encoder/config.json    the Whisper checkpoint's config (its weights are checkpointed)
    RUN/checkpoints/<step>/          orbax: state, data iterator, inference parameters
    RUN/metrics.jsonl, RUN/tensorboard/   the training logs

Outputs of commands that read a run go beside it, never inside (`beside`).
"""

from __future__ import annotations

import os
from pathlib import Path


class RunDir:
    """The paths of the run folder `root` (nothing is created or read here)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def fingerprint(self) -> Path:
        return self.root / "data_fingerprint.json"

    @property
    def reference_dir(self) -> Path:
        return self.root / "reference"

    def reference(self, name: str) -> Path:
        """RUN/reference/<name>.npy: mean_face, close_mouth_face, mean_blendshapes, triangles."""
        return self.reference_dir / f"{name}.npy"

    @property
    def encoder_config_dir(self) -> Path:
        return self.root / "audio_encoder"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    def beside(self, suffix: str) -> Path:
        """Default output of a command that reads the run: next to RUN, never inside it
        (runs/tiny → runs/tiny.<suffix>)."""
        root = self.root.absolute()
        return root.parent / f"{root.name}.{suffix}"
