"""MeshTalk: the context model's masking by perturbation, incremental sampling against the full
masked model, the Gumbel straight-through code, the loss of each stage, and sampling being
reproducible from a seed."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax.config import apply_overrides, load_config
from talkmesh_jax.models.build import init_variables
from talkmesh_jax.models.meshtalk.model import gumbel_straight_through
from talkmesh_jax.models.meshtalk.prior import ContextModel
from talkmesh_jax.models.registry import build_family

HEADS, CLASSES, DIM, FRAMES, AUDIO = 6, 5, 4, 20, 3


@pytest.fixture(scope="module")
def context():
    model = ContextModel(HEADS, CLASSES, DIM)
    rng = np.random.default_rng(0)
    codes = jnp.asarray(rng.integers(0, CLASSES, (1, FRAMES, HEADS)), jnp.int32)
    audio = jnp.asarray(rng.normal(size=(1, FRAMES, AUDIO)), jnp.float32)
    variables = model.init(jax.random.key(0), codes, audio)
    return model, variables, codes, audio


def _perturbed(codes, frame, head):
    return codes.at[0, frame, head].set((codes[0, frame, head] + 1) % CLASSES)


@pytest.mark.parametrize("frame, head", [(9, 2), (0, 0), (15, 5)])
def test_a_head_sees_only_earlier_heads_and_earlier_frames(context, frame, head):
    model, variables, codes, audio = context
    logits = model.apply(variables, codes, audio)[0, frame, head]
    # the same or a later head of the same frame, or anything later: no change at all
    for f, h in [(frame, head), (frame, HEADS - 1), (frame + 1, 0), (FRAMES - 1, HEADS - 1)]:
        if f >= FRAMES or (f == frame and h < head):
            continue
        changed = model.apply(variables, _perturbed(codes, f, h), audio)[0, frame, head]
        assert np.array_equal(np.asarray(changed), np.asarray(logits)), (f, h)
    # an earlier head of the same frame, or any head of an earlier frame (within the receptive
    # field of 1 + 1 + 2 + 4 + 8 frames): a change
    earlier = [(frame, h) for h in range(head)] + [(frame - 1, HEADS - 1), (frame - 1, 0)]
    for f, h in earlier:
        if f < 0:
            continue
        changed = model.apply(variables, _perturbed(codes, f, h), audio)[0, frame, head]
        assert not np.allclose(np.asarray(changed), np.asarray(logits)), (f, h)
    # the audio of this frame too
    audio_changed = audio.at[0, frame].add(1.0)
    changed = model.apply(variables, codes, audio_changed)[0, frame, head]
    assert not np.allclose(np.asarray(changed), np.asarray(logits))


@pytest.mark.parametrize("temperature", [1.0, 0.0])
def test_incremental_sampling_equals_the_full_model_on_the_sampled_codes(context, temperature):
    model, variables, _, audio = context
    audio = jnp.concatenate([audio, audio[:, ::-1]])  # batch of two
    sample = jax.jit(lambda v, a, k: model.apply(v, a, k, temperature, method=ContextModel.sample))
    codes, logits = sample(variables, audio, jax.random.key(3))
    assert codes.shape == (2, FRAMES, HEADS) and logits.shape == (2, FRAMES, HEADS, CLASSES)
    full = model.apply(variables, codes, audio)
    np.testing.assert_allclose(np.asarray(logits), np.asarray(full), atol=1e-4, rtol=1e-4)
    if temperature == 0:
        assert np.array_equal(np.asarray(codes), np.asarray(jnp.argmax(full, -1)))
    else:
        assert len(np.unique(np.asarray(codes))) > 1
    again, _ = sample(variables, audio, jax.random.key(3))
    other, _ = sample(variables, audio, jax.random.key(4))
    assert np.array_equal(np.asarray(again), np.asarray(codes))  # reproducible from a seed
    if temperature > 0:
        assert not np.array_equal(np.asarray(other), np.asarray(codes))


def test_gumbel_straight_through_is_one_hot_forward_with_a_soft_gradient():
    logits = jnp.log(jnp.asarray([[0.7, 0.2, 0.1]]))
    key = jax.random.key(0)
    hard = gumbel_straight_through(key, logits, 1.0)
    assert np.array_equal(np.asarray(hard).sum(-1), [1.0])
    assert set(np.unique(np.asarray(hard))) <= {0.0, 1.0}
    grad = jax.grad(lambda x: (gumbel_straight_through(key, x, 1.0) * jnp.arange(3.0)).sum())(
        logits
    )
    assert np.abs(np.asarray(grad)).sum() > 0  # the soft sample's gradient passes through


def _family(overrides=()):
    config = load_config("meshtalk_tiny")
    apply_overrides(
        config,
        [
            "model.num_landmarks=468",
            "model.meshtalk.num_heads=4",
            "model.meshtalk.num_classes=8",
            "model.meshtalk.feature_dim=16",
            "model.audio_encoder.conv_channels=8",
            "model.audio_encoder.conv_features=8",
            "train.steps=10",
            *overrides,
        ],
    )
    return build_family(config)


def test_stages_train_their_own_parameters():
    family = _family()
    stages = family.stages()
    assert [s.name for s in stages] == ["autoencoder", "context"]
    assert stages[1].start == 10 and family.total_steps() == 10 + stages[1].steps
    assert "context" not in stages[0].trainable and stages[1].trainable == ("context",)
    assert "statistics" in family.frozen


def test_each_stage_has_a_loss_with_gradients_only_where_it_trains():
    family = _family()
    variables = init_variables(family, 8, 0)
    rng = np.random.default_rng(0)
    batch = {
        "audio": jnp.asarray(rng.normal(0, 0.1, (2, 8 * 640)), jnp.float32),
        "landmarks": jnp.asarray(rng.normal(0, 0.1, (2, 8, 468, 3)), jnp.float32),
        "mask": jnp.ones((2, 8), bool),
    }
    reference = jnp.zeros((468, 3))

    def grads(step):
        def loss(v):
            error, count = family.loss(v, batch, reference, step, jax.random.key(0))
            return error / count

        return jax.grad(loss)(variables)["params"]

    def norm(tree):
        return float(sum(jnp.abs(x).sum() for x in jax.tree.leaves(tree)))

    first, second = grads(0), grads(10)
    assert norm(first["decoder"]) > 0 and norm(first["expression_encoder"]) > 0
    assert norm(first["context"]) == 0
    assert norm(second["context"]) > 0
    assert norm(second["decoder"]) == 0 and norm(second["fusion"]) == 0


def test_generate_is_reproducible_from_a_seed_and_varies_with_it():
    family = _family()
    variables = init_variables(family, 8, 0)
    audio = jnp.asarray(np.random.default_rng(1).normal(0, 0.1, (1, 8 * 640)), jnp.float32)
    outputs = [
        np.asarray(family.generate(variables, audio, 8, jax.random.key(s), 1.0)) for s in (1, 1, 2)
    ]
    assert outputs[0].shape == (1, 8, 468 * 3)
    assert np.array_equal(outputs[0], outputs[1])
    assert not np.array_equal(outputs[0], outputs[2])
