"""Training: optimiser, state, the pure step, data parallelism, checkpoints, the loop."""
