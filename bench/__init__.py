"""Benchmarks: each module serves a real hub and prints figures as ratios to a baseline of the same run."""
