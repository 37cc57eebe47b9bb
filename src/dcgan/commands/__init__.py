"""Subcommands of the ``dcgan`` CLI, one module per group; each module defines ``add(sub)``."""
