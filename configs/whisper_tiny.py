"""Frozen pretrained Whisper tiny.en (shipped with the install: `bundled:tiny.en`, SHA-256
checked) under a small decoder: the model that carries over from synthetic speech to people's
voices, trained on a 2-core CPU in minutes (the Whisper features are computed once per clip and
cached in DATA/features/). The demo trains it.

    talkmesh synth /tmp/talkmesh-synth --clips 200 --drive phonemes
    talkmesh train --config whisper_tiny --workdir runs/whisper_tiny --data /tmp/talkmesh-synth
"""

from talkmesh_jax.train.defaults import default_config


def get_config():
    config = default_config()
    config.data.window_frames = 50
    config.data.stride_frames = 25
    config.data.batch_size = 16
    config.model.num_landmarks = 478
    config.model.feature_dim = 128
    config.model.num_layers = 2
    config.model.audio_encoder.checkpoint = "bundled:tiny.en"
    config.model.audio_encoder.size = "tiny"
    config.model.audio_encoder.context = "chunked"  # Whisper's own 30 s context, cached
    config.model.audio_encoder.frozen = True
    config.train.steps = 1500
    config.train.optimizer = "adam"
    config.train.learning_rate = 2e-3
    config.train.schedule = "cosine"
    config.train.warmup_steps = 100
    config.train.end_lr_fraction = 0.05
    config.train.grad_clip = 1.0
    config.checkpoint.every = 250
    config.eval.max_windows = 32
    return config
