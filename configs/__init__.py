"""The shipped experiment configs, installed as `talkmesh_jax.configs`: `--config tiny` finds
`configs/tiny.py` from any directory (see `talkmesh_jax.config.resolve_config_path`)."""
