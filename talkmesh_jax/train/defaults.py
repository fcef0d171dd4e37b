"""Every training option and its default; configs/*.py start from `default_config()`."""

import ml_collections


def default_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.data = ml_collections.ConfigDict(
        {
            "dataset": "",  # dataset directory (talkmesh extract / synth); --data overrides
            "window_frames": 125,  # 5 s at 25 fps
            "stride_frames": 125,
            "batch_size": 8,  # global batch, split over all devices of all hosts
            "jitter": True,  # random window offsets per epoch
            "min_valid_fraction": 0.5,
            "fill_invalid": "mask",  # "mask": no loss on invalid frames; "reference": original
            "num_threads": 0,  # C++ batcher threads (0: all cores)
            "prefetch": 2,
            # training-time audio augmentation (data/augment.py): `copies` augmented versions
            # of each training clip (0: off), each batch row hears the clean clip or one of them
            "augment": {
                "copies": 0,
                "noise_probability": 0.6,  # additive noise …
                "snr_db": [0.0, 30.0],  # … at an SNR drawn from this range
                "pink_fraction": 0.5,  # pink (1/f) noise, else white
                "gain_db": [-30.0, 6.0],  # always: a gain drawn from this range
                "telephone_probability": 0.2,  # band-limited to 300–3,400 Hz
                "reverb_probability": 0.3,  # a synthetic room response …
                "rt60_s": [0.2, 0.9],  # … with RT60 drawn from this range
                "seed": 0,
            },
        }
    )
    config.model = ml_collections.ConfigDict(
        {
            "family": "faceformer",  # faceformer | meshtalk (its options: model.meshtalk)
            "num_landmarks": None,  # 468 | 478; unset: the dataset's (resolved into config.json)
            "feature_dim": 64,
            "num_heads": 4,
            "num_layers": 1,
            "ffn_dim": 0,  # 0: 2 × feature_dim
            "period": 25,
            "align_window": 2,
            "output_type": "disp_close",  # pos | disp_close | disp_mean
            # landmarks | blendshapes | landmarks+blendshapes (the dataset's 52 ARKit-named
            # MediaPipe coefficients; talkmesh extract and synth write them)
            "targets": "landmarks",
            "num_blendshapes": 52,  # MediaPipe's coefficients (with `_neutral`)
            "dtype": "float32",  # bfloat16: compute in bf16, parameters and loss in f32
            "dropout": 0.0,  # decoder dropout in training steps (torch's layer default: 0.1)
            "audio_encoder": {
                "kind": "whisper",
                "checkpoint": None,  # HF or CTranslate2 directory, or cached id; None: random
                "size": "small",
                # window | padded | chunked | trailing (README, "Whisper's context")
                "context": "chunked",
                # feature contexts also trained on (e.g. ["trailing"]): export picks the
                # cheapest for each clip, and the run streams ('trailing')
                "extra_contexts": [],
                "chunk_margin_seconds": 5.0,
                # trailing (streams): hop of H frames encoded with the L s of audio ending A
                # frames after it
                "trailing_seconds": 2.0,  # L
                "trailing_hop_frames": 2,  # H
                "trailing_lookahead_frames": 2,  # A
                "frozen": True,
                "dtype": "float32",
                # noise gate: 25 ms frames quieter than this (RMS, dBFS) are digital silence
                # (shipped configs: -55, so −60 dBFS hiss and silence give one face; None: off)
                "gate_dbfs": None,
                "conv_channels": 128,
                "conv_features": 128,
                "conv_window_seconds": 1.0,  # MeshTalk's 1 s window per frame
                # Whisper's shape, filled in from the checkpoint (or size) when training starts
                "architecture": None,
            },
            # MeshTalk (model.family=meshtalk); the keys above it shares: num_landmarks (the
            # vertex count), output_type (its template), audio_encoder
            "meshtalk": {
                "feature_dim": 128,
                "num_heads": 64,  # H categorical heads …
                "num_classes": 128,  # … of C classes
                "context_dim": 16,  # context model features per head
                "gumbel_temperature": 1.0,
                "recon_weight": 1.0,
                # blinks are ~5 % of frames: at 1 the autoencoder averages them away (0 blinks
                # reconstructed on synth data, clean or not); at 10 it rebuilds every one
                "eyelid_weight": 10.0,
                "mouth_weight": 1.0,  # cross-modality: mouth error, another expression input
                "upper_weight": 1.0,  # cross-modality: upper-face error, another audio
                "context_steps": 1000,  # stage 2, after train.steps of stage 1
                "context_learning_rate": None,  # None: train.learning_rate
            },
        }
    )
    config.train = ml_collections.ConfigDict(
        {
            "steps": 5000,
            "seed": 0,
            "mode": "teacher_forcing",  # or "autoregressive" (the original's training procedure)
            "optimizer": "lion",  # adam | adamw | lion
            "learning_rate": 1e-4,
            "weight_decay": 0.0,
            "blendshape_weight": 1.0,  # loss = landmark MSE + this × blendshape MSE
            "schedule": "constant",  # constant | cosine
            "warmup_steps": 0,
            "end_lr_fraction": 0.0,
            "grad_clip": 0.0,  # global-norm clipping; 0: off
            "ema_decay": 0.0,  # EMA of parameters; 0: off
            # autoregressive mode: frames per rematerialised chunk of the decoding scan (−1: √T,
            # O(T^1.5) memory; 0: off, the whole cache kept per frame, O(T²))
            "remat_frames": -1,
            "parallel": "pmap",  # pmap over local devices, or "jit" with a sharded batch
        }
    )
    config.checkpoint = ml_collections.ConfigDict({"every": 100, "keep": 3, "keep_best": True})
    config.eval = ml_collections.ConfigDict({"max_windows": 64, "batch_size": 8})
    config.log = ml_collections.ConfigDict({"every": 10, "tensorboard": True})
    return config
