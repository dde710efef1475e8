"""The framework-free core: policy, cookie codec, per-request context, reasons, stores.

Nothing here does network or file I/O or imports a web framework; the adapters build on it.
"""
