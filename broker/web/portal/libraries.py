"""Choosing one's library: a plain search form, JSON suggestions for scripts, a remembering cookie."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...services import libraries
from ..patron_session import current_patron, safe_next
from ..security_headers import allow_form_action_towards
from .blueprint import bp
from .patron_page import LibraryView, apply_brand, chosen_library, load_library, remember_library, runtime

MAX_QUERY = 100
PAGE_RESULTS = 30
SUGGESTIONS = 8
_SEPARATORS = re.compile(r"[\s\-'’.,/()]+")
_POSTCODE = re.compile(r"\b(\d{5})\b")
#: words at least this long may be found with one typo ("Baieux" finds Bayeux)
TYPO_MIN = 4


def fold(text: str) -> str:
    """Lower case, no accents, separators as single spaces: 'Condé-en-Normandie' → 'conde en normandie'."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", bare.casefold()).strip()


@dataclass(frozen=True)
class Match:
    library: LibraryView
    rank: int


def one_edit_apart(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with one letter changed, added, removed, or two neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diffs) == 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                                   and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


def _typo_match(wanted: str, words: list[str]) -> bool:
    """Every word typed (of ``TYPO_MIN`` letters or more) is one typo away from a word of the library."""
    typed = [w for w in wanted.split() if w]
    if not typed or any(len(w) < TYPO_MIN for w in typed):
        return False
    return all(any(one_edit_apart(w, word) or (len(word) > len(w) and one_edit_apart(w, word[:len(w)]))
                   for word in words) for w in typed)


def postcodes(view: LibraryView) -> set[str]:
    """The postcodes in the library's address ("14400" in "Place de Gaulle, 14400 Bayeux")."""
    return set(_POSTCODE.findall(view.address or ""))


def search(query: str, limit: int) -> list[LibraryView]:
    """Libraries of every network whose name, commune, postcode or code matches ``query``.

    Accents and case are ignored; a name or commune typed with one typo is still found (after the
    exact matches); digits look for the postcode in the library's address.
    """
    wanted = fold(query[:MAX_QUERY])
    with runtime().db.session() as session:
        views = [LibraryView.from_row(lib) for lib in libraries.list_libraries(runtime(), session)]
    if not wanted:
        return sorted(views, key=lambda v: (v.network_name, fold(v.name)))[:limit]
    matches = []
    for view in views:
        name, commune, code = fold(view.name), fold(view.commune), view.code.casefold()
        words = f" {name} {commune} "
        if code == wanted.replace(" ", "-"):
            rank = 0
        elif commune.startswith(wanted) or name.startswith(wanted):
            rank = 1
        elif f" {wanted}" in words:
            rank = 2
        elif wanted in name or wanted in commune or wanted in code:
            rank = 3
        elif wanted.isdigit() and len(wanted) >= 2 and any(p.startswith(wanted) for p in postcodes(view)):
            rank = 1 if len(wanted) == 5 else 3
        elif _typo_match(wanted, words.split()):
            rank = 4
        else:
            continue
        matches.append(Match(view, rank))
    matches.sort(key=lambda m: (m.rank, fold(m.library.name)))
    return [m.library for m in matches[:limit]]


@bp.get("/libraries")
def libraries_page():
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    show_all = request.args.get("all") == "1"
    current = chosen_library()
    apply_brand(current)
    results = search(query, PAGE_RESULTS if query else 500) if (query or show_all) else None
    next_url = safe_next(request.args.get("next"), "")
    allow_form_action_towards(next_url)  # choosing a library redirects there
    return render_template("portal/libraries.html", query=query, results=results, current=current,
                           next_url=next_url, patron=current_patron(), show_all=show_all)


@bp.get("/libraries/suggest")
def libraries_suggest():
    """Suggestions for the search box (JSON); the page works the same without them."""
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    found = search(query, SUGGESTIONS) if len(fold(query)) >= 2 else []
    response = jsonify(query=query, results=[
        {"code": v.code, "name": v.name, "commune": v.commune, "network": v.network_name} for v in found
    ])
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.post("/libraries/choose")
def choose_library():
    view = load_library(request.form.get("library"))
    next_url = safe_next(request.form.get("next"), url_for("portal.home"))
    if view is None:
        flash(_("Cette bibliothèque est inconnue. Cherchez-la par son nom ou sa commune."), "error")
        return redirect(url_for("portal.libraries_page"))
    flash(_("Votre bibliothèque : %(name)s.", name=view.name), "success")
    response = redirect(next_url)
    remember_library(response, view.code)
    return response
