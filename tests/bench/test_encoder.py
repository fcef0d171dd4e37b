"""`talkmesh bench encoder`: its FLOP count agrees with XLA's (the CLI run is in
test_every_bench.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from talkmesh_jax.whisper import attention as attention_module
from talkmesh_jax.whisper.encoder import WhisperEncoder, WhisperEncoderConfig, encoder_flops


def test_flop_count_agrees_with_xla_cost_analysis(monkeypatch) -> None:
    # XLA cannot count the C++ kernel's work, so the attention runs as XLA's sliced formulation;
    # two heads and batch 1: its loop has one iteration, which XLA counts fully.
    monkeypatch.setattr(attention_module, "uses_cpu_kernel", lambda *_: False)
    config = WhisperEncoderConfig(80, 64, 2, 2, 128, 1500)
    mel = jnp.zeros((1, 600, 80))
    module = WhisperEncoder(config)
    params = module.init(jax.random.key(0), mel)
    cost = jax.jit(module.apply).lower(params, mel).compile().cost_analysis()
    xla_flops = (cost[0] if isinstance(cost, list) else cost)["flops"]
    assert abs(encoder_flops(config, 600) - xla_flops) / xla_flops < 0.1
