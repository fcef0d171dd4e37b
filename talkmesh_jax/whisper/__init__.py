"""Whisper in Flax: log-mel, the encoder, its weights (Hugging Face and CTranslate2), the
converter, what it sees (context modes, 30 s chunks) and its CPU attention. Imports only the core
modules."""
