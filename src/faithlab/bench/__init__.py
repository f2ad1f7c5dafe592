"""Benchmarks: config -> units, a resumable result store, the runner and its summary."""
