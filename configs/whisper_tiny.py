"""Frozen pretrained Whisper tiny.en (shipped with the install: `bundled:tiny.en`, SHA-256
checked) under a 2 × 128 decoder: the model that carries over from synthetic speech to people's
voices, trained on a 2-core CPU in minutes (the Whisper features are computed once per clip and
cached in DATA/features/). `tiny`'s data, schedule and optimiser; the demo trains it.

    talkmesh synth /tmp/talkmesh-synth --clips 200 --drive phonemes
    talkmesh train --config whisper_tiny --workdir runs/whisper_tiny --data /tmp/talkmesh-synth
"""

from talkmesh_jax.configs.tiny import get_config as tiny
from talkmesh_jax.train.defaults import default_config


def get_config():
    config = tiny()
    config.data.augment.copies = 0  # frozen Whisper is robust already; augmenting cost 0.03×
    defaults = default_config().model
    config.model.feature_dim = 128
    config.model.num_layers = 2
    config.model.align_window = defaults.align_window  # Whisper's own 2 positions per frame
    config.model.audio_encoder = defaults.audio_encoder  # frozen Whisper, context chunked
    config.model.audio_encoder.checkpoint = "bundled:tiny.en"
    config.model.audio_encoder.size = "tiny"
    config.model.audio_encoder.gate_dbfs = -55.0  # −60 dBFS hiss and silence: the same face
    # with model.targets=landmarks+blendshapes (the demo's): the curves' share of the loss; at
    # 0.3 the lips follow people's voices better than at 1 (lip-gap r 0.81 vs 0.79, README)
    config.train.blendshape_weight = 0.3
    return config
