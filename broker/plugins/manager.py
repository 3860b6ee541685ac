"""Build the pluggy manager: hookspecs, built-in plugins, then the ``broker`` entry points."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

import pluggy

from .. import hookspecs
from ..errors import ConfigError

#: Built-in behaviour, registered as ordinary plugins (module paths).
BUILTIN_PLUGINS: tuple[str, ...] = (
    "connectors.sip2.plugin",
    "connectors.ldap.plugin",
    "connectors.koha.plugin",
    "connectors.local.plugin",
    "broker.plugins.event_log",
    "broker.plugins.stats",
    "broker.providers.saml.plugin",
    "broker.providers.oidc.plugin",
    "broker.providers.cas.plugin",
    "broker.providers.link.plugin",
    "broker.mail.plugin",
)


class DuplicatePlugin(ConfigError):
    """Two plugins offer the same name."""

    def __init__(self, kind: str, name: str, first: str, second: str) -> None:
        super().__init__(
            f"{kind} '{name}'", f"offered by two plugins: {first} and {second}; disable one (plugins_disabled)"
        )


def make_plugin_manager(
    *,
    load_entrypoints: bool = True,
    disabled: Iterable[str] = (),
    builtins: Iterable[str] = BUILTIN_PLUGINS,
    extra: Iterable[Any] = (),
) -> pluggy.PluginManager:
    """A fresh manager; a misspelt hook implementation fails here, loudly."""
    pm = pluggy.PluginManager("broker")
    pm.add_hookspecs(hookspecs)
    disabled = set(disabled)
    for path in builtins:
        if path in disabled:
            continue
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name and path.startswith(exc.name):
                continue  # a built-in that is not part of this installation
            raise
        pm.register(module, name=path)
    for plugin in extra:
        pm.register(plugin)
    if load_entrypoints:
        for name in disabled:
            pm.set_blocked(name)
        try:
            pm.load_setuptools_entrypoints("broker")
        except Exception as exc:  # a broken third-party plugin must be named, not crash later
            raise ConfigError("plugins", f"a plugin of the 'broker' entry-point group cannot be loaded: {exc}") from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError("plugins", f"{pm.get_name(exc.plugin) or exc.plugin}: {exc}") from exc
    return pm


def plugin_manager_for(settings: Any, *, extra: Iterable[Any] = ()) -> pluggy.PluginManager:
    """The manager the settings ask for: the app's runtime and the ``broker`` command both build theirs here.

    ``plugins_load_entrypoints`` says whether installed third-party plugins are
    loaded, ``plugins_disabled`` which plugins (built-in or not) are left out.
    """
    return make_plugin_manager(load_entrypoints=settings.plugins_load_entrypoints,
                               disabled=settings.plugins_disabled, extra=extra)


def plugin_name(pm: pluggy.PluginManager, plugin: Any) -> str:
    return pm.get_name(plugin) or repr(plugin)


def collect_named(pm: pluggy.PluginManager, hook_name: str, kind: str) -> dict[str, Any]:
    """Gather records with a ``name`` from a hook, refusing duplicates with both plugins named."""
    found: dict[str, tuple[Any, str]] = {}
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():
        for record in impl.function() or ():
            if record.name in found:
                raise DuplicatePlugin(kind, record.name, found[record.name][1], impl.plugin_name)
            found[record.name] = (record, impl.plugin_name)
    return {name: record for name, (record, _) in found.items()}


def call_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any, Exception | None]]:
    """Call every implementation of a hook, in pluggy's order, so that one that raises does not stop the others.

    Returns ``(plugin name, result, exception)`` per implementation, for a hook
    whose implementations must all run whatever happens (``broker_patron_logout``).
    Wrappers are not used by such hooks.
    """
    outcomes: list[tuple[str, Any, Exception | None]] = []
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):  # the order pluggy calls them in: last registered first
        if impl.hookwrapper or impl.wrapper:
            continue
        try:
            result = impl.function(*(kwargs[name] for name in impl.argnames))
        except Exception as exc:  # noqa: BLE001 - reported to the caller, which logs it
            outcomes.append((impl.plugin_name, None, exc))
        else:
            outcomes.append((impl.plugin_name, result, None))
    return outcomes


def describe(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """What ``broker plugins list`` shows: each plugin and the hooks it implements."""
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda np: np[0]):
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        dist = next((d.project_name for p, d in pm.list_plugin_distinfo() if p is plugin), None)
        rows.append({"name": name, "hooks": hooks, "distribution": dist or "built-in"})
    return rows
