"""What a provider plugin builds on: issuance, refusal page, supplier registration, CLI and form from a settings model.

A provider offers a :class:`~broker.providers.ProviderSpec` through the
``broker_providers`` hook. Everything else it needs is here, so that a
plugin never reaches into the broker's internals:

- :func:`issue`: the issuance step (access decision, usage record, pairwise
  subject, released attributes), the same for every protocol;
- :func:`refusal_page` and :func:`error_page`: what a refused patron or a bad
  request sees;
- :func:`validate_settings`: the provider's pydantic settings model applied to
  input, with one clear :class:`~broker.errors.InvalidInput` message;
- :func:`register_supplier`: create (or give a protocol to) a supplier and keep
  the settings under ``supplier.config[protocol]``;
- :func:`supplier_command`: the ``broker suppliers add-<protocol>`` command,
  generated from the settings model; :func:`supplier_options` and
  :func:`suppliers_group` for a command written by hand;
- :func:`settings_form`: the fields of an admin form, generated from the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, get_args, get_origin

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Supplier
from ..errors import Conflict, InvalidInput
from ..services import audit
from ..services import suppliers as supplier_service
from .issuance import Issuance, decide
from .registry_cache import invalidate

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["Issuance", "issue", "refusal_page", "error_page", "validate_settings", "register_supplier",
           "supplier_command", "supplier_options", "suppliers_group", "settings_form", "settings_of", "describe_supplier"]


def issue(runtime: Runtime, supplier: Supplier, patron, protocol: str) -> Issuance:
    """The issuance step for the logged-in ``patron`` (a ``LoggedPatron``) and ``supplier``.

    Runs the access decision, records one usage event with ``protocol`` and,
    when granted, gives the pairwise subject and the released attributes
    (friendly name → values, after the release policy and the plugins).
    """
    return decide(runtime, supplier, patron.uid, protocol, patron=patron)


def refusal_page(outcome):
    """The portal's refusal page for a refused :class:`Issuance` outcome."""
    from .portal_handoff import refusal_page as page

    return page(outcome)


def error_page(status: int, code: str, message: str):
    """A plain error page (400 for a bad request, 503 for a supplier that cannot be served now)."""
    from .portal_handoff import error_page as page

    return page(status, code, message)


def _first_error(exc) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)
    err = errors[0]
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
    message = err.get("msg", "invalid")
    message = message.removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        message = "unknown setting"
    return f"{where}: {message}" if where else message


def validate_settings(model, data: dict[str, Any]):
    """``model.model_validate(data)``; any error becomes one InvalidInput naming the field."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_first_error(exc)) from None


def settings_of(supplier: Supplier, protocol: str) -> dict[str, Any]:
    """What :func:`register_supplier` stored for ``protocol`` on this supplier."""
    return dict(((supplier.config or {}).get(protocol)) or {})


def register_supplier(runtime: Runtime, session: Session, slug: str, protocol: str, stored: dict[str, Any], *,
                      networks: Iterable[str] = (), name: str | None = None,
                      release: str | list[str] | None = None, category: str = "", login_url: str = "",
                      actor: str = "cli") -> Supplier:
    """Create supplier ``slug`` with ``protocol`` (or give it to an existing supplier without protocol,
    or update one that has it already); ``stored`` goes to ``supplier.config[protocol]``.

    ``stored`` must hold nothing secret in clear: encrypt with ``runtime.keys.encrypt`` and store the
    text under a key ending in ``_encrypted`` (``broker secrets rotate`` re-encrypts those).
    """
    row = session.scalar(select(Supplier).where(Supplier.slug == slug))
    if row is None:
        row = supplier_service.add_supplier(runtime, session, slug, name=name or slug, networks=list(networks),
                                            category=category, protocol=protocol, login_url=login_url,
                                            release=release, config={protocol: stored}, actor=actor)
    else:
        if row.protocol not in ("none", "", protocol):
            raise Conflict(f"supplier '{slug}' already uses {row.protocol}; a {protocol} supplier needs a "
                           "supplier without protocol")
        row.config = {**(row.config or {}), protocol: stored}
        row.protocol = protocol
        supplier_service.update_common(session, row, name=name, login_url=login_url, release=release,
                                       networks=list(networks))
        session.flush()
        audit.record(runtime, session, actor, f"supplier.{protocol}", slug)
    invalidate(runtime, protocol)
    return row


# -- forms and commands generated from the settings model ------------------------------------------
def _kind(annotation) -> tuple[str, tuple[str, ...]]:
    """(type name, choices) of a model field: string, integer, boolean, list, secret, choice."""
    from typing import Literal

    from pydantic import SecretStr

    args = [a for a in get_args(annotation) if a is not type(None)]
    origin = get_origin(annotation)
    if origin is Literal:
        return "choice", tuple(str(a) for a in get_args(annotation))
    if origin in (list, tuple):
        return "list", ()
    if args and origin is not None and len(args) == 1:  # Optional[X]
        return _kind(args[0])
    if annotation is bool:
        return "boolean", ()
    if annotation is int:
        return "integer", ()
    if annotation is SecretStr:
        return "secret", ()
    return "string", ()


def settings_form(model) -> list[dict[str, Any]]:
    """The fields of an admin form for ``model``: name, label, type, required, default, choices, help.

    A field's ``json_schema_extra`` may hold ``label``, ``option`` (the CLI
    option), ``cli: False`` (API and forms only) and ``legacy`` (choices to
    mark as legacy).
    """
    fields = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        kind, choices = _kind(info.annotation)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        legacy = set(extra.get("legacy", ()))
        fields.append({
            "name": name, "label": extra.get("label", name.replace("_", " ").capitalize()), "type": kind,
            "required": info.is_required(), "default": default if kind != "secret" else None,
            "choices": [{"value": c, "legacy": c in legacy} for c in choices],
            "help": info.description or "",
        })
    return fields


def describe_supplier(row: Supplier) -> dict[str, Any]:
    """The common part of a supplier's description (CLI and API answers)."""
    return {"slug": row.slug, "name": row.name, "protocol": row.protocol,
            "networks": [n.slug for n in row.networks], "release": list(row.release or [])}


def supplier_options(*first: Callable) -> Callable[[Callable], Callable]:
    """Decorator of a ``broker suppliers add-<protocol>`` command: the SLUG argument, the ``first`` options
    (listed before the common ones), then ``--network`` and ``--name``, which every such command takes."""
    import click

    decorators = [
        click.argument("slug"),
        *first,
        click.option("--network", "networks", multiple=True,
                     help="Network offering it (repeatable; required for a new supplier)."),
        click.option("--name", default=None, help="Display name (default: the slug)."),
    ]

    def apply(function: Callable) -> Callable:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def suppliers_group(*commands) -> Any:
    """The ``suppliers`` group holding a provider's ``add-<protocol>`` commands, for ``broker_cli_commands``
    (the ``broker`` command merges the ``suppliers`` groups of every plugin into one)."""
    import click

    group = click.Group("suppliers", help="Suppliers and the networks that offer them.")
    for command in commands:
        group.add_command(command)
    return group


def supplier_command(spec, *, describe: Callable[[Any], dict[str, Any]] | None = None,
                     help: str | None = None) -> Any:
    """``add-<spec.name>``: the common supplier options, then one option per field of the settings model.

    The command validates the options with the model, then calls
    ``spec.register(runtime, session, slug, settings, networks=…, name=…, release=…, category=…)``
    and prints ``describe(row)`` (default: :func:`describe_supplier`).
    """
    import click

    from ..cli import emit, json_option, with_runtime
    from ..services.suppliers import CATEGORIES, RELEASABLE

    model = spec.settings_model
    options: list[Callable] = [
        supplier_options(),
        click.option("--category", default="", type=click.Choice(("",) + CATEGORIES)),
        click.option("--release", default="", help=f"Comma-separated, among {', '.join(RELEASABLE)}."),
    ]
    fields = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("cli") is False:
            continue
        kind, choices = _kind(info.annotation)
        flag = extra.get("option") or "--" + name.replace("_", "-")
        text = info.description or ""
        if kind == "boolean":
            options.append(click.option(flag, name, is_flag=True, default=False, help=text))
        elif kind == "list":
            options.append(click.option(flag, name, multiple=True, help=text + " (repeatable)"))
        elif kind == "choice":
            legacy = set(extra.get("legacy", ()))
            shown = ", ".join(f"{c} (legacy)" if c in legacy else c for c in choices)
            options.append(click.option(flag, name, type=click.Choice(choices), default=None,
                                        help=f"{text} One of: {shown}."))
        elif kind == "integer":
            options.append(click.option(flag, name, type=int, default=None, help=text))
        else:
            options.append(click.option(flag, name, default=None, help=text))
        fields.append((name, kind))

    def command(runtime: Runtime, session, slug, networks, name, category, release, as_json, **given):
        data = {}
        for field, kind in fields:
            value = given.get(field)
            if kind == "list":
                value = list(value or ())
                if not value:
                    continue
            if value is None or (kind == "boolean" and not value):
                continue
            data[field] = value
        settings = validate_settings(model, data)
        row = spec.register(runtime, session, slug, settings, networks=list(networks), name=name,
                            release=release or None, category=category)
        out = (describe or describe_supplier)(row)
        if not as_json:
            out = {k: (" ".join(map(str, v)) if isinstance(v, list) else v) for k, v in out.items()}
        emit(out, as_json)

    command.__doc__ = help or f"Register SLUG as a {spec.name} supplier ({spec.description or spec.name})."
    wrapped: Any = with_runtime(command)
    wrapped = json_option(wrapped)
    for option in reversed(options):
        wrapped = option(wrapped)
    return click.command(f"add-{spec.name}", help=command.__doc__)(wrapped)
