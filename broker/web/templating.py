"""Template context: the network's branding and the page language."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, current_app, g, request
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from markupsafe import Markup

from .. import localtime, wording


@dataclass(frozen=True)
class Brand:
    name: str = "Sésame"
    logo: str = ""
    primary: str = "#1d4f91"
    on_primary: str = "#ffffff"

    @classmethod
    def from_network(cls, name: str, branding: dict) -> Brand:
        return cls(
            name=branding.get("name") or name,
            logo=branding.get("logo", ""),
            primary=branding.get("primary", cls.primary),
            on_primary=branding.get("on_primary", cls.on_primary),
        )


def init_app(app: Flask) -> None:
    @app.context_processor
    def inject() -> dict:
        translations = get_translations()
        return {
            "brand": g.get("brand") or Brand(),
            "current_locale": lambda: str(get_locale() or "fr"),
            "lang_url": lang_url,
            "_translations": translations,
            "_": _page_gettext(translations),
        }

    app.add_template_filter(local_datetime, "localdatetime")
    app.add_template_filter(local_date, "localdate")
    app.add_template_filter(local_time, "localtime")
    app.add_template_global(zone_label, "zone_label")
    app.add_template_filter(money, "money")
    app.add_template_filter(number, "number")
    app.add_template_filter(fr_name, "fr_name")
    app.add_template_filter(to_name, "to_name")
    app.add_template_filter(of_name, "of_name")

    # the templates' _() and ngettext() read the page's catalogue, looked up once per page above;
    # Flask-Babel's own look it up again for every string (a page has dozens)
    app.jinja_env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, newstyle=True)


def _page_gettext(translations):
    """The page's ``_()``: what Jinja's new-style gettext does, without its two extra calls per string.

    The translation is trusted markup and the named values are escaped into it, as with
    ``install_gettext_callables(newstyle=True)`` on an HTML template (every template here is one).
    """
    def gettext(message: str, **variables) -> Markup:
        return Markup(translations.ugettext(message)) % variables

    return gettext


@pass_context
def _gettext(context, message: str) -> str:
    return (context.get("_translations") or get_translations()).ugettext(message)


@pass_context
def _ngettext(context, singular: str, plural: str, n: int) -> str:
    return (context.get("_translations") or get_translations()).ungettext(singular, plural, n)


def lang_url(code: str) -> str:
    """This page in another language: the same query string, with ``lang`` replaced."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", code))
    return "?" + urlencode(args)


def network_zone() -> str:
    """The ``timezone`` setting: the zone every page shows its dates and times in."""
    runtime = current_app.extensions.get("broker")
    return runtime.settings.timezone if runtime is not None else localtime.DEFAULT_ZONE


def page_language() -> str:
    return str(get_locale() or "fr")


def local_datetime(moment, form: str = "short", offset: bool = False) -> str:
    """``{{ at|localdatetime }}``: a stored UTC moment in the network's time zone and the page's language."""
    return localtime.format_datetime(moment, page_language(), network_zone(), form, offset=offset)


def local_date(value, form: str = "short") -> str:
    return localtime.format_date(value, page_language(), network_zone(), form)


def local_time(moment) -> str:
    return localtime.format_time(moment, page_language(), network_zone())


def zone_label() -> str:
    """"heure de Paris" / "Paris time": for a column of times."""
    return localtime.zone_label(page_language(), network_zone())


def to_name(name: str) -> str:
    """``{{ lib.name|to_name }}``: "à la Médiathèque de Vire" on a French page; the name itself otherwise."""
    return wording.to(name) if page_language() == "fr" else name


def of_name(name: str) -> str:
    """``{{ lib.name|of_name }}``: "de la Médiathèque de Vire" on a French page; the name itself otherwise."""
    return wording.of(name) if page_language() == "fr" else name


def money(amount) -> str:
    """``{{ fee|money }}``: "4 458,00 €" on a French page, "€4,458.00" on an English one."""
    return localtime.format_money(amount, page_language())


def number(value, decimals: int | None = None) -> str:
    """``{{ n|number }}``: "6 452" in French, "6,452" in English; ``decimals`` fixes the digits after the mark."""
    return localtime.format_number(value, page_language(), decimals)


def requested_csv_style():
    """The CSV convention asked by ``?csv=fr|en``, else the page's language's (``services.csvstyle``)."""
    from ..services import csvstyle

    return csvstyle.style(request.args.get("csv"), default="en" if page_language() == "en" else "fr")


def fr_name(name) -> Markup:
    """``{{ supplier.name|fr_name }}``: a French name marked ``lang="fr"`` on an English page (read as French)."""
    if page_language() == "en" and name:
        return Markup('<span lang="fr">%s</span>') % name
    return Markup("%s") % (name or "")
