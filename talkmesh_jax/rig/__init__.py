"""Driving a character's rig: shape-target weights solved from landmark motion (`solve.py`)."""
