"""Type stub of the C++ attention extension (csrc/attention_bindings.cc)."""

import numpy as np

def ffi_handler() -> object:
    """The XLA FFI handler (a PyCapsule) for jax.ffi.register_ffi_target(..., platform='cpu')."""

def attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float, threads: int = 1
) -> np.ndarray:
    """softmax(scale q k^T) v per (batch, head): q [B, Tq, H, D], k and v [B, Tk, H, D] float32
    (D a multiple of 16) → [B, Tq, H, D] float32."""

def isa() -> str:
    """The instruction-set variant in use: 'avx512', 'avx2' or 'baseline'."""

def available_isas() -> str:
    """The variants this CPU and build can run, best first, comma-separated."""

def set_isa(name: str) -> bool:
    """Uses variant `name`; False if this CPU or build lacks it."""
