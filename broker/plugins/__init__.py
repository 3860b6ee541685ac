"""The plugin manager: built per app, never at import time."""

from .manager import DuplicatePlugin, make_plugin_manager, BUILTIN_PLUGINS

__all__ = ["DuplicatePlugin", "make_plugin_manager", "BUILTIN_PLUGINS"]
