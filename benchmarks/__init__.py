"""Benchmarks of pytest-mockseed, each figure beside its baseline (issue 5).

Run from the repository root with ``python -m benchmarks`` (full) or
``python -m benchmarks --quick`` (under a minute). See ``RESULTS.md``.
"""
