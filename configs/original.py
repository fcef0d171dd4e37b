"""The original project's defaults: frozen whisper-small, feature_dim 64, lion 1e-4, batch 8, fixed
5 s windows, 5000 steps, validation and a checkpoint every 100 steps.

    talkmesh train --config original --workdir runs/original --data obama_data

Needs the Whisper weights: `pip install huggingface_hub && hf download openai/whisper-small` (or a
local directory: model.audio_encoder.checkpoint=PATH).
"""

from talkmesh_jax.train.defaults import default_config


def get_config():
    config = default_config()
    config.model.audio_encoder.checkpoint = "openai/whisper-small"
    config.data.jitter = False  # fixed, non-overlapping windows like the original
    config.model.num_landmarks = 468  # the original's (first 468 of MediaPipe's 478)
    # model.dropout stays 0: the seed notes record none (torch's TransformerDecoderLayer would
    # default to 0.1 if the original built it without a dropout argument; set it to compare).
    return config
