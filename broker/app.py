"""create_app(): settings → runtime (database, state, plugins) → extensions → blueprints."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from babel import Locale
from flask import Flask, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.middleware.proxy_fix import ProxyFix

from .clock import Clock
from .config import Settings, load_settings
from .logs import configure_logging
from .runtime import Runtime
from .web.responses import Response
from .web.sessions import StateSessionInterface

SUPPORTED_LOCALES = ("fr", "en")
MAX_BODY = 1024 * 1024


def select_locale() -> Locale:
    """?lang= (remembered in a cookie) > cookie > browser preference > French."""
    asked = request.args.get("lang") or request.cookies.get("lang")
    if asked in SUPPORTED_LOCALES:
        return _locale(asked)
    header = request.headers.get("Accept-Language", "")
    # browsers send a handful of distinct headers: each is parsed once (an odd, long one every time)
    preferred = _preferred(header) if len(header) <= 200 else _preferred.__wrapped__(header)
    return _locale(preferred or runtime_of().settings.default_locale)


@functools.lru_cache(maxsize=512)
def _preferred(header: str) -> str:
    """The supported locale an Accept-Language header prefers ("" for none)."""
    return parse_accept_header(header, LanguageAccept).best_match(SUPPORTED_LOCALES) or ""


@functools.cache
def _locale(code: str) -> Locale:
    """Parsed once: Flask-Babel takes a Locale as it is, and parses a string at every request."""
    return Locale.parse(code)


class BrokerFlask(Flask):
    """Flask, asking once per function (not at every request) whether a view or hook is a coroutine."""

    response_class = Response  # a body in memory goes to the server in one piece

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func):
        try:
            return self._sync[func]
        except KeyError:
            found = super().ensure_sync(func)
            if len(self._sync) < 4096:
                self._sync[func] = found
            return found
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)


def runtime_of(app: Flask | None = None) -> Runtime:
    from flask import current_app

    return (app or current_app).extensions["broker"]


def create_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    extra_plugins: tuple[Any, ...] = (),
    clock: Clock | None = None,
) -> Flask:
    """Build a broker app. Raises ConfigError (one line naming the key) on a bad setting.

    ``clock``: where the app reads the time (the system clock unless a test moves its own).
    """
    settings = settings or load_settings(overrides)
    configure_logging(settings.log_level, settings.log_json)
    runtime = Runtime(settings, extra_plugins=extra_plugins, clock=clock)

    app = BrokerFlask("broker", instance_path=settings.instance_path, instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # sessions live in the state store (the cookie is a random id); what Flask or an extension
        # signs follows the rotation: the newest key signs, the older ones still verify
        SECRET_KEY_FALLBACKS=list(settings.secret_keys[1:]),
        WTF_CSRF_SECRET_KEY=list(reversed(settings.secret_keys)),  # itsdangerous: oldest first, signs with the last
        SESSION_COOKIE_NAME="sesame",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=MAX_BODY,
        MAX_FORM_MEMORY_SIZE=MAX_BODY,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES="translations;translations_staff;translations_providers;translations_stats",
        PREFERRED_URL_SCHEME="https" if settings.secure_cookies else "http",
        JSON_SORT_KEYS=False,
    )
    app.extensions["broker"] = runtime
    app.session_interface = StateSessionInterface(
        runtime.state,
        clock=runtime.clock,
        cookie_name="sesame",
        idle=settings.session_idle_timeout,
        absolute=settings.session_absolute_timeout,
    )
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trust_proxy, x_proto=settings.trust_proxy,  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app
                                x_host=settings.trust_proxy)
    Babel(app, locale_selector=select_locale)
    app.extensions["csrf"] = CSRFProtect(app)

    from .web import api, errors, ops, portal, redirects, security_headers, staff, stats, templating

    templating.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app, https=settings.base_url.lower().startswith("https://"))
    redirects.init_app(app)  # after: its replacement page still gets the headers (hooks run last-first)
    app.register_blueprint(ops.bp)
    for part in (portal, staff, api, stats):  # the patron, staff and API blueprints
        part.init_app(app)
    for provider in runtime.providers.values():
        bp = provider.blueprint(runtime)
        if provider.csrf_exempt:
            app.extensions["csrf"].exempt(bp)
        app.register_blueprint(bp)
    from .demo_suppliers import init_app as init_demo_suppliers

    init_demo_suppliers(app)
    return app
