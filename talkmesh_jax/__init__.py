"""talkmesh-jax: speech to lip-synchronised 3D face animation in JAX/Flax.

The package is import-light: submodules (data, models, train, bench) pull in JAX and friends
only when they are imported.
"""

__version__ = "0.1.0"

# Audio and video rates shared by every part of the project.
SAMPLE_RATE = 16_000  # Hz, mono
FPS = 25  # video frames per second
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640


class TalkmeshError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits non-zero."""
