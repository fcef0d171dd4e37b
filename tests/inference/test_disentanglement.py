"""The disentanglement windows come from clips with gaps too: the first all-valid window."""

from __future__ import annotations

import numpy as np

from talkmesh_jax.inference.disentanglement import first_valid_window


def test_first_valid_window_skips_gaps() -> None:
    valid = np.ones(100, bool)
    assert first_valid_window(valid, 50) == 0
    valid[[3, 40]] = False
    assert first_valid_window(valid, 50) == 41
    assert first_valid_window(valid, 60) is None
    assert first_valid_window(valid[:30], 50) is None
