"""Measurements that need TensorFlow: profiler FLOPs, latency, memory, accuracy.

Import the submodules directly; this package's ``__init__`` imports nothing heavy.
"""
