"""The FaceFormer-style family: the decoder over an audio encoder (model) and its family
interface (family)."""
