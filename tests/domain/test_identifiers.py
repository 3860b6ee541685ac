import re

from broker.domain.identifiers import card_digest, pairwise_id
from broker.domain.patrons import mask_card, normalize_card

KEY = b"k" * 32


def test_pairwise_is_stable_per_supplier_and_unlinkable_across():
    a1 = pairwise_id(KEY, "uid-1", "cafeyn")
    assert a1 == pairwise_id(KEY, "uid-1", "cafeyn")
    assert a1 != pairwise_id(KEY, "uid-1", "skilleos")
    assert a1 != pairwise_id(KEY, "uid-2", "cafeyn")
    assert a1 != pairwise_id(b"x" * 32, "uid-1", "cafeyn")
    assert re.fullmatch(r"[a-z2-7]{32}", a1)


def test_card_digest_does_not_contain_the_card():
    digest = card_digest(KEY, "FR-1", "29001000000017")
    assert "29001000000017" not in digest and len(digest) == 64
    assert digest != card_digest(KEY, "FR-2", "29001000000017")


def test_normalize_and_mask():
    assert normalize_card(" 2900 1000-0000 17 ") == "29001000000017"
    assert normalize_card("ab12cd") == "AB12CD"
    assert normalize_card("AB12", case="lower") == "ab12"
    assert normalize_card("Ab 12", case="keep", strip_spaces=False) == "Ab 12"
    assert mask_card("29001000000017") == "••••••••••0017"
    assert mask_card("123") == "•••"
