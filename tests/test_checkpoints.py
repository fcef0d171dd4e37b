"""Checkpoints: the validation score is stored with each step, the best and the last K kept, and
`best_step` finds the lowest score (steps saved without a score, such as MeshTalk's first stage,
are never best)."""

import numpy as np

from talkmesh_jax.checkpoints import Checkpointer


def test_the_best_scored_step_is_kept_and_found(tmp_path):
    state = {"w": np.zeros(3, np.float32)}
    writer = Checkpointer(tmp_path, keep=2)
    for step, score in [(1, None), (2, 0.5), (3, 0.7), (4, 0.9), (5, None)]:
        writer.save(step, state, {"position": step}, state, score)
    assert writer.manager.metrics(2) == {"valid_score": 0.5}
    writer.close()
    reader = Checkpointer(tmp_path, keep=2, read_only=True)
    assert sorted(reader.manager.all_steps()) == [2, 4, 5]  # best + the last two
    assert reader.best_step() == 2
    assert reader.latest_step() == 5
    reader.close()
