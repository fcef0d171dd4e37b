"""Models: the Whisper audio encoder (and, later, the FaceFormer-style decoder and MeshTalk)."""
