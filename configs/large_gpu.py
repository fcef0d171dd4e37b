"""A large model for GPUs: fine-tuned whisper-small in bfloat16 (Whisper sees the 5 s training
window: context 'window', since the cached 'chunked' context needs a frozen encoder), feature_dim
512, 8 heads, 6 layers, dropout 0.1, batch 64 over all devices, adamw with warmup + cosine, EMA of
parameters.

    talkmesh train --config large_gpu --workdir runs/large --data obama_data
"""

from talkmesh_jax.train.defaults import default_config


def get_config():
    config = default_config()
    config.data.batch_size = 64
    config.data.stride_frames = 25
    config.model.num_landmarks = 478
    config.model.feature_dim = 512
    config.model.num_heads = 8
    config.model.num_layers = 6
    config.model.dtype = "bfloat16"
    config.model.dropout = 0.1
    config.model.audio_encoder.checkpoint = "openai/whisper-small"
    config.model.audio_encoder.frozen = False
    config.model.audio_encoder.context = "window"  # fine-tuned: encoded in the step, per window
    config.model.audio_encoder.dtype = "bfloat16"
    config.model.audio_encoder.gate_dbfs = -55.0
    config.train.steps = 50000
    config.train.optimizer = "adamw"
    config.train.learning_rate = 3e-4
    config.train.weight_decay = 0.01
    config.train.schedule = "cosine"
    config.train.warmup_steps = 2000
    config.train.grad_clip = 1.0
    config.train.ema_decay = 0.999
    config.checkpoint.every = 1000
    return config
