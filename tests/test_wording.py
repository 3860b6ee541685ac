"""French that reads right: articles before names, amounts and numbers with the reader's separators."""

from __future__ import annotations

from decimal import Decimal

import pytest

from broker import localtime, wording

NNBSP = "\u202f"


@pytest.mark.parametrize("name, to, of", [
    ("Médiathèque de Vire", "à la Médiathèque de Vire", "de la Médiathèque de Vire"),
    ("Bibliothèque municipale de Bayeux", "à la Bibliothèque municipale de Bayeux",
     "de la Bibliothèque municipale de Bayeux"),
    ("Médiathèque Les 7 Lieux", "à la Médiathèque Les 7 Lieux", "de la Médiathèque Les 7 Lieux"),
    ("Réseau des médiathèques de Caen la mer", "au Réseau des médiathèques de Caen la mer",
     "du Réseau des médiathèques de Caen la mer"),
    ("Espace culturel François-Mitterrand", "à l'Espace culturel François-Mitterrand",
     "de l'Espace culturel François-Mitterrand"),
    ("Le Quai des mots", "au Quai des mots", "du Quai des mots"),
    ("La Boîte numérique", "à la Boîte numérique", "de la Boîte numérique"),
    ("Les Ateliers", "aux Ateliers", "des Ateliers"),
    ("L'Atelier", "à l'Atelier", "de l'Atelier"),
    ("diGame", "à diGame", "de diGame"),
    ("Ifs", "à Ifs", "d'Ifs"),
    ("Écouves", "à Écouves", "d'Écouves"),
    ("Centre culturel", "au Centre culturel", "du Centre culturel"),
    ("Maison des lectures", "à la Maison des lectures", "de la Maison des lectures"),
])
def test_articles_before_a_name(name, to, of):
    assert wording.to(name) == to
    assert wording.of(name) == of


def test_nothing_to_name():
    assert wording.to("") == "" and wording.of("  ") == ""


def test_amounts_with_french_thousands_separators():
    assert localtime.format_money(Decimal("4458.00")).replace(NNBSP, " ").replace("\xa0", " ") == "4 458,00 €"
    assert localtime.format_money(Decimal("967.8")).replace("\xa0", " ") == "967,80 €"
    assert localtime.format_money(Decimal("4458.00"), "en") == "€4,458.00"
    assert localtime.format_money(None) == ""


def test_numbers_with_the_readers_separators():
    assert localtime.format_number(6452).replace(NNBSP, " ") == "6 452"
    assert localtime.format_number(Decimal("0.1500")) == "0,15"
    assert localtime.format_number(Decimal("0.15"), "en") == "0.15"
    assert localtime.format_number(12.5, "fr", 2) == "12,50"
    assert localtime.format_number(1234567, "en") == "1,234,567"


def test_french_collation_of_names():
    names = ["Médiathèque de Condé", "diGame", "Zebra Kids", "Cafeyn", "Écran libre", "Bibliothèque de Bayeux",
             "eduMedia", "Œuvres complètes", "Occitanie", "Médiathèque de Caen"]
    assert wording.sorted_names(names) == [
        "Bibliothèque de Bayeux", "Cafeyn", "diGame", "Écran libre", "eduMedia", "Médiathèque de Caen",
        "Médiathèque de Condé", "Occitanie", "Œuvres complètes", "Zebra Kids"]
    # equal letters: without accent before with, small letter before capital
    assert wording.sorted_names(["Côte", "côte", "cote", "coté"]) == ["cote", "coté", "côte", "Côte"]
    assert wording.sorted_names([{"n": "b"}, {"n": "A"}], key=lambda d: d["n"]) == [{"n": "A"}, {"n": "b"}]
