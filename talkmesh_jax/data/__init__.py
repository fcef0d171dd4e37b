"""Data: packed clips, the C++ windowed batcher, its numpy reference and the Grain pipeline."""
