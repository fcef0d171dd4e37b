"""`whisper_tiny` in the streaming Whisper context: each hop of 4 frames (160 ms) is encoded with
the 2 s of audio that end 2 frames (80 ms) after it (`model.audio_encoder.context=trailing`), so
`talkmesh stream` runs it live, its frames equal to `talkmesh export`'s. On the project's
recorded-speech set its lip error is within a few percent of `whisper_tiny`'s (README, "Which
model for what"). Features are cached per dataset like `whisper_tiny`'s (one encoder call per
hop: building the cache takes longer).

    talkmesh synth /tmp/talkmesh-synth --clips 200 --drive phonemes
    talkmesh train --config whisper_tiny_stream --workdir runs/stream --data /tmp/talkmesh-synth
    talkmesh stream --workdir runs/stream --audio speech.wav --out frames.jsonl
"""

from talkmesh_jax.configs.whisper_tiny import get_config as whisper_tiny


def get_config():
    config = whisper_tiny()
    config.model.audio_encoder.context = "trailing"
    config.model.audio_encoder.trailing_seconds = 2.0
    config.model.audio_encoder.trailing_hop_frames = 4
    config.model.audio_encoder.trailing_lookahead_frames = 2
    return config
