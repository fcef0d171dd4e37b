"""MeshTalk on MediaPipe landmarks, sized for a 2-core CPU: light conv audio encoder (0.16 s per
frame), 32 heads of 32 classes, 2 s windows; stage 1 (autoencoder) then stage 2 (context model)
in the same run.

    talkmesh synth /tmp/talkmesh-synth --clips 60
    talkmesh train --config meshtalk_tiny --workdir runs/meshtalk --data /tmp/talkmesh-synth
    talkmesh export --workdir runs/meshtalk --audio speech.wav --out face.npy --seed 1
"""

from talkmesh_jax.train.defaults import default_config


def get_config():
    config = default_config()
    config.model.family = "meshtalk"
    config.model.num_landmarks = 478
    config.model.output_type = "disp_mean"
    config.model.audio_encoder.kind = "conv"
    config.model.audio_encoder.frozen = False
    config.model.audio_encoder.conv_channels = 64
    config.model.audio_encoder.conv_features = 64
    config.model.audio_encoder.conv_window_seconds = 0.16
    config.model.audio_encoder.gate_dbfs = -55.0
    config.model.meshtalk.feature_dim = 96
    config.model.meshtalk.num_heads = 32
    config.model.meshtalk.num_classes = 32
    config.model.meshtalk.context_dim = 16
    config.model.meshtalk.context_steps = 800
    config.model.meshtalk.context_learning_rate = 2e-3
    config.data.window_frames = 50
    config.data.stride_frames = 25
    config.data.batch_size = 16
    config.train.steps = 1200
    config.train.optimizer = "adam"
    config.train.learning_rate = 1e-3
    config.train.schedule = "cosine"
    config.train.warmup_steps = 100
    config.train.end_lr_fraction = 0.05
    config.train.grad_clip = 1.0
    config.checkpoint.every = 250
    config.eval.max_windows = 32
    return config
