"""French that reads right around names: "à la Médiathèque de Vire", "de l'Espace culturel", "au Réseau".

A library's name is written as the library writes it ("Médiathèque de Vire",
"Le Quai des mots", "diGame"). A sentence that puts "à" or "de" before it
needs the article the name's first word takes, contracted the French way
(à + le → au, de + les → des, de + voyelle → d'). ``to(name)`` and ``of(name)``
give the whole group; English pages do not need them.

No Flask here: pages, e-mails and exports use the same rules.
"""

from __future__ import annotations

import unicodedata

#: common nouns that start library and network names, by gender ("f" or "m")
_NOUNS = {
    "médiathèque": "f", "bibliothèque": "f", "ludothèque": "f", "discothèque": "f", "artothèque": "f",
    "maison": "f", "cité": "f", "communauté": "f", "ville": "f", "commune": "f", "agglomération": "f",
    "boîte": "f", "salle": "f", "station": "f", "halle": "f", "librairie": "f", "plateforme": "f",
    "bdp": "f", "bdc": "f", "direction": "f", "mairie": "f",
    "réseau": "m", "centre": "m", "espace": "m", "point": "m", "pôle": "m", "relais": "m", "service": "m",
    "conseil": "m", "département": "m", "syndicat": "m", "pays": "m", "quai": "m", "forum": "m",
    "carré": "m", "kiosque": "m", "lieu": "m", "atelier": "m", "office": "m", "établissement": "m",
}
_ARTICLES = {"le": "m", "la": "f", "les": "p", "l'": "e", "l’": "e"}
_TO = {"m": "au ", "f": "à la ", "p": "aux ", "e": "à l'"}
_OF = {"m": "du ", "f": "de la ", "p": "des ", "e": "de l'"}


def _starts_with_vowel(word: str) -> bool:
    if not word:
        return False
    bare = unicodedata.normalize("NFD", word[0].lower())[0]
    return bare in "aeiouy" or (bare == "h" and word.lower().startswith(("hôtel", "hall", "hexagone")))


def _split(name: str) -> tuple[str | None, str]:
    """(the article the name starts with, or None; the rest of the name)."""
    lowered = name.lower()
    for article in ("l'", "l’"):
        if lowered.startswith(article):
            return "e", name[len(article):]
    head, _, rest = name.partition(" ")
    kind = _ARTICLES.get(head.lower())
    if kind is not None and rest:
        return kind, rest
    return None, name


def article_kind(name: str) -> str | None:
    """"m", "f", "p" (plural), "e" (elided, before a vowel), or None for a proper name taking no article."""
    name = (name or "").strip()
    kind, rest = _split(name)
    if kind is not None:
        return kind
    first = name.split(" ", 1)[0].lower().strip(",.;:")
    gender = _NOUNS.get(first)
    if gender is None:
        return None
    return "e" if _starts_with_vowel(first) else gender


def _with(name: str, table: dict[str, str], bare: str, elided: str) -> str:
    name = (name or "").strip()
    if not name:
        return name
    kind, rest = _split(name)
    if kind is not None:
        return table[kind] + rest
    kind = article_kind(name)
    if kind is not None:
        return table[kind] + name
    return (elided if _starts_with_vowel(name) else bare) + name


def to(name: str) -> str:
    """"à la Médiathèque de Vire", "au Quai des mots" (from "Le Quai des mots"), "aux 7 Lieux", "à diGame"."""
    return _with(name, _TO, "à ", "à ")


def of(name: str) -> str:
    """"de la Médiathèque de Vire", "du Quai des mots", "de l'Espace culturel", "d'Ifs"."""
    return _with(name, _OF, "de ", "d'")


def sort_key(text: str | None) -> tuple:
    """Order names as a French reader expects: letters first, then accents, then case.

    "diGame" sits between "Cafeyn" and "Médiathèque de Condé"; "Écouves" with the E's;
    "cote" < "côte" < "Côte" when all else is equal. A database orders by byte
    value (capitals before small letters, accented letters after z); lists
    shown to people are sorted with this key instead.
    """
    text = (text or "").strip()
    decomposed = unicodedata.normalize("NFD", text)
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    # ligatures a French reader files as two letters
    base = base.replace("œ", "oe").replace("æ", "ae")
    accents = tuple(unicodedata.combining(c) and ord(c) for c in decomposed)
    case = tuple(c.isupper() for c in text)
    return (base, accents, case, text)


def sorted_names(items, key=lambda item: item):
    """``items`` sorted by ``sort_key`` of ``key(item)``."""
    return sorted(items, key=lambda item: sort_key(key(item)))
