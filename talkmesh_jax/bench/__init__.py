"""Benchmarks behind `talkmesh bench …`: each prints a table and can write JSON."""
