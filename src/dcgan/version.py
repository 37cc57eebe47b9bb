"""The package version, in a module of its own that imports nothing (every other module may use it)."""

__version__ = "0.1.0"
