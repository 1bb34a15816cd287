"""Benchmarks: each prints a table and compares against stock Synapse in the same run."""
