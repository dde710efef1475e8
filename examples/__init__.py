"""Runnable examples; start them from the repository root with ``python -m examples.NAME``."""
