"""The plugin manager: built per app, never at import time."""

from .manager import BUILTIN_PLUGINS, DuplicatePlugin, make_plugin_manager

__all__ = ["DuplicatePlugin", "make_plugin_manager", "BUILTIN_PLUGINS"]
