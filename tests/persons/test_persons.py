"""Linked cards: one subject per supplier for the person, access from any card, unlinking (services level)."""

import pytest
from sqlalchemy import select

from broker.db.models import UsageEvent
from broker.domain.identifiers import pairwise_id
from broker.providers import issuance
from broker.services import libraries, persons, suppliers
from broker.services import patrons as patron_service

BAYEUX, CAMILLE = "FR-140476101", "29001000000017"      # calvados, active
CAEN, LOUIS = "FR-141186001", "29003000000015"         # caen-la-mer, active
LUCAS = "29001000000025"                                # Bayeux, pending
LEA = "29001000000058"                                  # Bayeux, expired


@pytest.fixture
def runtime(demo_app):
    return demo_app.extensions["broker"]


def patron(runtime, s, code, card):
    return patron_service.find(runtime, s, libraries.get_library(s, code), card)


def subject(runtime, code, card, slug="cafeyn"):
    with runtime.db.session() as s:
        uid = patron(runtime, s, code, card).uid
        supplier = suppliers.get_supplier(s, slug)
        s.expunge_all()
    result = issuance.decide(runtime, supplier, uid, "saml")
    return result.subject if result.granted else result.outcome.decision.refusal.code


def link(runtime, first, second, actor="patron"):
    with runtime.db.session() as s:
        persons.link(runtime, s, patron(runtime, s, *first), patron(runtime, s, *second), actor=actor)


def test_after_linking_every_card_gives_the_first_cards_subject(runtime):
    before_camille, before_louis = subject(runtime, BAYEUX, CAMILLE), subject(runtime, CAEN, LOUIS)
    assert before_camille != before_louis
    link(runtime, (BAYEUX, CAMILLE), (CAEN, LOUIS))
    assert subject(runtime, CAEN, LOUIS) == before_camille == subject(runtime, BAYEUX, CAMILLE)
    # a supplier only the second card had used keeps the second card's history
    # (never used by either: the first card's identifier)
    with runtime.db.session() as s:
        uid = patron(runtime, s, BAYEUX, CAMILLE).uid
    assert subject(runtime, CAEN, LOUIS, "skilleos") == pairwise_id(runtime.keys.pairwise, uid, "skilleos")
    # unlinking: each card its own identifiers again
    with runtime.db.session() as s:
        assert persons.unlink(runtime, s, patron(runtime, s, CAEN, LOUIS), actor="patron")
    assert subject(runtime, CAEN, LOUIS) == before_louis
    assert subject(runtime, BAYEUX, CAMILLE) == before_camille


def test_history_of_the_new_card_is_kept_where_only_it_was_used(runtime):
    louis_at_pnb = subject(runtime, CAEN, LOUIS, "pnb")
    camille_at_cafeyn = subject(runtime, BAYEUX, CAMILLE, "cafeyn")
    link(runtime, (BAYEUX, CAMILLE), (CAEN, LOUIS))
    assert subject(runtime, BAYEUX, CAMILLE, "pnb") == louis_at_pnb
    assert subject(runtime, CAEN, LOUIS, "cafeyn") == camille_at_cafeyn


def test_both_used_the_supplier_the_patron_chooses(runtime):
    camille, louis = subject(runtime, BAYEUX, CAMILLE), subject(runtime, CAEN, LOUIS)
    link(runtime, (BAYEUX, CAMILLE), (CAEN, LOUIS))
    with runtime.db.session() as s:
        person = persons.person_of(s, patron(runtime, s, BAYEUX, CAMILLE).id)
        [choice] = persons.choices(runtime, s, person)
        assert choice.sector == "cafeyn" and len(choice.candidates) == 2
        louis_id = patron(runtime, s, CAEN, LOUIS).id
        assert persons.choose(runtime, s, person, "cafeyn", louis_id, actor="patron")
        assert not persons.choose(runtime, s, person, "pnb", louis_id, actor="patron")  # not a choice offered
    assert subject(runtime, BAYEUX, CAMILLE) == louis == subject(runtime, CAEN, LOUIS)
    assert subject(runtime, BAYEUX, CAMILLE) != camille


def test_access_from_any_card_counted_once_for_the_granting_library(runtime):
    # Léa's Bayeux membership is expired; linked to Louis's active card in Caen la mer
    assert subject(runtime, BAYEUX, LEA) == "membership_expired"
    link(runtime, (BAYEUX, LEA), (CAEN, LOUIS))
    with runtime.db.session() as s:
        lea_uid = patron(runtime, s, BAYEUX, LEA).uid
        caen_id = libraries.get_library(s, CAEN).id
        before = s.scalar(select(UsageEvent.id).order_by(UsageEvent.id.desc()).limit(1))
    granted = subject(runtime, BAYEUX, LEA)
    assert granted == pairwise_id(runtime.keys.pairwise, lea_uid, "cafeyn")  # the first card's identity
    with runtime.db.session() as s:
        rows = s.scalars(select(UsageEvent).where(UsageEvent.id > before)).all()
    assert [(r.library_id, r.outcome) for r in rows] == [(caen_id, "granted")]
    # vodeclic is offered by calvados only: the only active card is in caen-la-mer
    assert subject(runtime, BAYEUX, LEA, "vodeclic") == "membership_expired"
    with runtime.db.session() as s:
        supplier = suppliers.get_supplier(s, "vodeclic")
        s.expunge_all()
    outcome = issuance.decide(runtime, supplier, lea_uid, "saml").outcome
    assert [(o.card_hint, o.reason, o.current) for o in outcome.others] == [
        ("0058", "membership_expired", True), ("0015", "not_in_bundle", False)]


def test_pending_card_links_but_grants_nothing(runtime):
    link(runtime, (BAYEUX, LEA), (BAYEUX, LUCAS))
    assert subject(runtime, BAYEUX, LUCAS) == "membership_pending"
    assert subject(runtime, BAYEUX, LEA) == "membership_expired"


def test_bad_links_write_nothing(runtime):
    with runtime.db.session() as s:
        camille, louis = patron(runtime, s, BAYEUX, CAMILLE), patron(runtime, s, CAEN, LOUIS)
        with pytest.raises(persons.LinkError) as err:
            persons.link(runtime, s, camille, camille, actor="patron")
        assert err.value.problem is persons.LinkProblem.SAME_CARD
    link(runtime, (BAYEUX, CAMILLE), (CAEN, LOUIS))
    with runtime.db.session() as s:
        lea, louis = patron(runtime, s, BAYEUX, LEA), patron(runtime, s, CAEN, LOUIS)
        with pytest.raises(persons.LinkError) as err:
            persons.link(runtime, s, lea, louis, actor="patron")
        assert err.value.problem is persons.LinkProblem.TAKEN
        with pytest.raises(persons.LinkError) as err:
            persons.link(runtime, s, patron(runtime, s, BAYEUX, CAMILLE), louis, actor="patron")
        assert err.value.problem is persons.LinkProblem.ALREADY
    assert subject(runtime, BAYEUX, LEA) == "membership_expired"  # Léa stays on her own


def test_limit_is_a_setting(make_app, demo_db, tmp_path, smtp_sink):
    import shutil

    shutil.copy(demo_db(sip2="online"), tmp_path / "d.db")
    runtime = make_app(database_url=f"sqlite:///{tmp_path / 'd.db'}", cards_max_per_person=2,
                       **smtp_sink.settings).extensions["broker"]
    link(runtime, (BAYEUX, CAMILLE), (CAEN, LOUIS))
    with runtime.db.session() as s:
        with pytest.raises(persons.LinkError) as err:
            persons.link(runtime, s, patron(runtime, s, BAYEUX, CAMILLE), patron(runtime, s, BAYEUX, LEA),
                         actor="patron")
        assert err.value.problem is persons.LinkProblem.LIMIT


def test_erasing_a_card_takes_it_out_of_its_person(runtime):
    before_louis = subject(runtime, CAEN, LOUIS)
    link(runtime, (BAYEUX, CAMILLE), (CAEN, LOUIS))
    with runtime.db.session() as s:
        camille = patron(runtime, s, BAYEUX, CAMILLE)
        patron_service.erase(camille, runtime.clock.utcnow())
    with runtime.db.session() as s:
        assert persons.person_of(s, patron(runtime, s, CAEN, LOUIS).id) is None
        from broker.db.person_models import Person, PersonEvent
        assert s.scalars(select(Person)).all() == [] and s.scalars(select(PersonEvent)).all() == []
    assert subject(runtime, CAEN, LOUIS) == before_louis


def test_staff_export_gives_only_a_count_of_the_other_cards(runtime):
    from broker.services import privacy, staff

    link(runtime, (BAYEUX, CAMILLE), (CAEN, LOUIS))
    with runtime.db.session() as s:
        referent = staff.get_user(s, "referent@bayeux.example.org")
        doc = privacy.export_for_staff(runtime, s, BAYEUX, CAMILLE, actor=referent.email, user=referent)
        assert doc["linked_cards"]["other_cards"] == 1 and CAEN not in str(doc) and "0015" not in str(doc)
        doc = privacy.export_for_staff(runtime, s, BAYEUX, CAMILLE, actor="cli")  # the operator, for the patron
        assert [c["library"] for c in doc["linked_cards"]["cards"]] == [BAYEUX, CAEN]
