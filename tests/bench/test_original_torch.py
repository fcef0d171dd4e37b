"""The PyTorch re-enactment of the original step (the anchor of `bench train`): its masks are the
original's, and a step runs end to end (feature extractor, Whisper-small, recomputed decoder,
backward, Adam)."""

import numpy as np
import pytest

from tests.helpers import NO_TORCH
from tests.models.faceformer.test_model import original_biased_mask

pytestmark = pytest.mark.torch_reference
torch = pytest.importorskip("torch", reason=NO_TORCH)
pytest.importorskip("transformers", reason=NO_TORCH)


def test_masks_are_the_originals():
    from talkmesh_jax.bench.original_torch import _alignment_mask, _biased_mask

    ours = _biased_mask(4, 30, 25).numpy()
    theirs = original_biased_mask(4, 30, 25)
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], atol=1e-6)
    alignment = _alignment_mask(5, 12).numpy()
    assert (np.isfinite(alignment).sum(1) == 2).all() and np.isfinite(alignment[3, 6:8]).all()


def test_a_small_step_runs_and_reports_its_parts():
    from talkmesh_jax.bench.original_torch import original_step_seconds

    parts = original_step_seconds(batch_size=1, frames=3, steps=1)
    assert parts["step_s"] >= parts["encoder_s"] > 0 and parts["decoder_s"] > 0
    assert parts["batch_frames"] == 3
