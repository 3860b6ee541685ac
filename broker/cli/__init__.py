"""The ``broker`` command: a click group over the same services as the web app.

Exit codes: 0 done, 1 the operation was refused or failed, 2 bad usage or
invalid input (nothing written). Every command that prints data takes --json.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import click

from ..errors import BrokerError, InvalidInput

_APP = None


def get_app():
    """The Flask app, built once per command from the environment and config file."""
    global _APP
    if _APP is None:
        import logging
        import os

        from ..app import create_app

        _APP = create_app()
        if "BROKER_LOG_LEVEL" not in os.environ:
            logging.getLogger().setLevel(logging.WARNING)  # commands print their own results
    return _APP


def fail(exc: BrokerError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(exc.exit_code)


def with_runtime(fn: Callable) -> Callable:
    """Run a command inside an app context with ``runtime`` and an open DB ``session``.

    The session commits when the command returns; any BrokerError rolls it back,
    prints one line and exits with the error's code.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            app = get_app()
            with app.app_context():
                runtime = app.extensions["broker"]
                with runtime.db.session() as session:
                    return fn(runtime, session, *args, **kwargs)
        except BrokerError as exc:
            fail(exc)
        except Exception as exc:  # a database or network failure: one line, exit 1
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                click.echo(f"error: database: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", err=True)
                sys.exit(1)
            raise

    return wrapper


def show_progress() -> bool:
    """Progress bars go to standard error, and only when it is a terminal."""
    return sys.stderr.isatty()


class Progress:
    """``progress(done, total)`` for a long job: a bar on a terminal, nothing with --json or in a pipe.

    Services take such a callable (``progress=None`` by default) and call it after each step; the bar
    is drawn from the first call, when the total is known, and closed when the ``with`` block ends.
    """

    def __init__(self, label: str, *, quiet: bool) -> None:
        self.label = label
        self.enabled = not quiet and show_progress()
        self._bar: Any = None  # click's progress bar, once shown
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 1:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True,
                                          show_eta=True)
            self._bar.__enter__()
        self._bar.update(max(0, done - self._done))
        self._done = done

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None


def json_option(fn: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


def library_import(label: str) -> Callable[[Callable[..., int]], Callable]:
    """Decorator making ``load(runtime, session, library, text, progress) -> count`` an import command.

    The command takes FILE (UTF-8 text, a byte-order mark allowed), ``--library`` and ``--json``; it runs
    :func:`with_runtime`, shows a progress bar labelled ``label`` while ``load`` works, and prints the
    library with the count ``load`` returns.
    """

    def decorate(load: Callable[..., int]) -> Callable:
        @functools.wraps(load)
        def command(runtime: Any, session: Any, file: Any, library: str, as_json: bool) -> None:
            try:
                text = file.read()
            except UnicodeDecodeError:
                raise InvalidInput("the file is not UTF-8 text") from None
            with Progress(label, quiet=as_json) as progress:
                count = load(runtime, session, library, text, progress)
            emit({"library": library, "imported": count}, as_json)

        wrapped = json_option(with_runtime(command))
        wrapped = click.option("--library", required=True)(wrapped)
        return click.argument("file", type=click.File("r", encoding="utf-8-sig"))(wrapped)

    return decorate


_DECIMAL = "\u0000decimal:"
_DECIMAL_JSON = re.compile(r'"\\u0000decimal:(-?[0-9]+(?:\.[0-9]+)?)"')


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal) and value.is_finite():
        return f"{_DECIMAL}{value}"  # written as an exact JSON number below (967.80, not 967.8)
    return str(value)


def to_json(rows: Any) -> str:
    """JSON text in which Decimals (money, rates) keep their exact digits."""
    text = json.dumps(rows, ensure_ascii=False, indent=2, default=_json_default)
    return _DECIMAL_JSON.sub(r"\1", text)


def emit(rows: Sequence[dict[str, Any]] | dict[str, Any], as_json: bool, columns: Iterable[str] | None = None) -> None:
    """Print rows as JSON or as an aligned table."""
    if as_json:
        click.echo(to_json(rows))
        return
    if isinstance(rows, dict):
        for key, value in rows.items():
            click.echo(f"{key}: {value}")
        return
    if not rows:
        click.echo("(none)")
        return
    cols = list(columns or rows[0].keys())
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    click.echo("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for r in rows:
        click.echo("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols).rstrip())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sesame-broker", prog_name="broker")
def cli() -> None:
    """Sésame: single sign-on for the patrons of a network of public libraries."""


def main(argv: list[str] | None = None) -> None:
    from . import admin, instance_secrets, mail, network_admin, persons, serving, system  # noqa: F401  (registers the commands)

    _attach_plugin_commands()
    cli.main(args=argv, prog_name="broker")


def plugin_manager():
    """The plugins the app would have (same settings, same manager), for their commands, without building the app.

    Settings that cannot be loaded leave the default plugins: the command that
    needs the settings (or ``broker check-config``) then says what is wrong.
    """
    from ..config import load_settings
    from ..errors import ConfigError
    from ..plugins.manager import make_plugin_manager, plugin_manager_for

    try:
        settings = load_settings()
    except ConfigError:
        settings = None
    try:
        return plugin_manager_for(settings) if settings is not None else make_plugin_manager()
    except BrokerError as exc:
        fail(exc)


def _attach_plugin_commands() -> None:
    """Commands offered by plugins (``broker_cli_commands``), loaded without building the app."""
    pm = plugin_manager()
    for commands in pm.hook.broker_cli_commands():
        for command in commands or ():
            if command.name not in cli.commands:
                cli.add_command(command)
            elif isinstance(command, click.Group) and isinstance(cli.commands[command.name], click.Group):
                for sub in command.commands.values():
                    cli.commands[command.name].add_command(sub)
