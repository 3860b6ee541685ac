"""The patron forms' error messages and the library list offered in them."""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from datetime import UTC

from flask_babel import gettext as _
from markupsafe import Markup, escape

from ...services import libraries
from ...wording import sorted_names
from ..templating import local_time, zone_label
from .patron_page import LibraryView, runtime


def field_message(name: str, problem: str) -> str:
    """The sentence shown next to a field, for a problem code of services.login / services.registration.

    Each field has a sentence per problem it tells apart, and one (under "") for any other problem.
    """
    sentences = {
        "library": {"": _("Choisissez votre bibliothèque dans la liste.")},
        "card": {"too_long": _("Le numéro de carte est trop long (64 caractères au plus)."),
                 "invalid": _("Le numéro de carte contient des caractères non autorisés."),
                 "": _("Saisissez le numéro de votre carte de bibliothèque.")},
        "password": {"too_long": _("Le mot de passe est trop long (128 caractères au plus)."),
                     "invalid": _("Le mot de passe contient des caractères non autorisés."),
                     "": _("Saisissez votre mot de passe ou code PIN de bibliothèque.")},
        "email": {"required": _("Saisissez votre adresse e-mail."),
                  "": _("Saisissez une adresse e-mail valide, par exemple nom@exemple.fr.")},
        "consent": {"": _("Cochez la case pour accepter les conditions d'utilisation et la politique de "
                          "confidentialité.")},
    }.get(name)
    if sentences is None:
        return _("Ce champ n'est pas valide.")
    return sentences.get(problem, sentences[""])


def messages(errors: dict[str, str]) -> dict[str, str]:
    return {name: field_message(name, problem) for name, problem in errors.items()}


def credentials_message() -> str:
    minutes = max(1, runtime().settings.login_lockout_seconds // 60)
    return _("Numéro de carte ou mot de passe incorrect. Après %(count)d erreurs, la connexion avec cette carte "
             "est bloquée pendant %(minutes)d minutes.",
             count=runtime().settings.login_card_failures, minutes=minutes)


def locked_message(retry_at: float) -> str:
    """Said for any locked card, known or not: the lock is keyed by what was typed, so it reveals nothing."""
    from datetime import datetime

    minutes = max(1, math.ceil((retry_at - runtime().clock.wall()) / 60))
    at = local_time(datetime.fromtimestamp(retry_at, UTC))
    return _("Trop d'essais avec ce numéro de carte : par sécurité, la connexion avec cette carte est bloquée "
             "jusqu'à %(time)s (%(zone)s), soit environ %(minutes)d minutes. Réessayez ensuite. En cas "
             "d'oubli, votre bibliothèque peut vous redonner votre mot de passe.",
             time=at, zone=zone_label(), minutes=minutes)


def rate_limited_message(seconds: int = 0) -> str:
    if seconds > 0:
        return _("Trop de tentatives depuis votre connexion. Patientez %(seconds)d secondes, puis réessayez.",
                 seconds=seconds)
    return _("Trop de tentatives depuis votre connexion. Patientez une minute, puis réessayez.")


@dataclass(frozen=True)
class LibraryGroup:
    network: str
    libraries: tuple[LibraryView, ...]


#: above this many libraries, the login and registration pages offer the library search, not one long list
SELECT_LIMIT = 300


class LibraryChoices:
    """Every library by network, and the ``<option>`` elements of the ``library`` select, built once.

    The login and registration pages list every library (usable without
    JavaScript) up to ``SELECT_LIMIT`` libraries, and send the patron to the
    library search beyond; the list and its HTML are rebuilt only when the
    libraries change.
    """

    def __init__(self, groups: list[LibraryGroup]) -> None:
        self.groups = groups
        self._labels = {lib.code: (f"{lib.name} ({lib.commune})" if lib.commune else lib.name)
                        for group in groups for lib in group.libraries}
        #: too many for one list: the pages send the patron to the library search instead
        self.large = len(self._labels) > SELECT_LIMIT
        parts = []
        for group in groups:
            parts.append(f'<optgroup label="{escape(group.network)}">')
            for lib in group.libraries:
                label = f"{lib.name} ({lib.commune})" if lib.commune else lib.name
                parts.append(f'<option value="{escape(lib.code)}">{escape(label)}</option>')
            parts.append("</optgroup>")
        self._html = "\n".join(parts)

    def label(self, code: str | None) -> str:
        """"Name (Town)" of the library ``code``, or "" when there is no such library."""
        return self._labels.get(code or "", "")

    def options(self, selected: str = "") -> Markup:
        html = self._html
        if selected:
            mark = f'<option value="{escape(selected)}">'
            html = html.replace(mark, mark[:-1] + " selected>", 1)
        return Markup(html)


#: engine → (the library list's token the choices were built from, the choices)
_CHOICES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def library_groups() -> LibraryChoices:
    """Every library, by network, for the ``library`` select (usable without JavaScript)."""
    db = runtime().db
    with db.session() as session:
        rows, token = libraries.every_library(runtime(), session)
        found = _CHOICES.get(db.engine)
        if found is not None and token is not None and found[0] is token:
            return found[1]  # the same list as last time: no work proportional to the number of libraries
        views = [LibraryView.from_row(lib) for lib in rows]
    groups: dict[str, list[LibraryView]] = {}
    for view in views:
        groups.setdefault(view.network_name, []).append(view)
    choices = LibraryChoices([LibraryGroup(name, tuple(sorted_names(items, key=lambda v: v.name)))
                              for name, items in sorted_names(groups.items(), key=lambda kv: kv[0])])
    if token is not None:
        _CHOICES[db.engine] = (token, choices)
    return choices
