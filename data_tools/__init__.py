"""Offline data preparation (installed as `talkmesh_jax.data_tools`): videos → dataset.

Each step is a `talkmesh` subcommand; see data_tools/README.md for the modules.
"""
