"""/account/cards: the patron links, unlinks, chooses the history kept; bad input writes nothing."""

import re

import pytest
from sqlalchemy import func, select

from broker.db.person_models import PersonCard, PersonEvent
from fixtures.demo import open_supplier

BAYEUX, CAMILLE = "FR-140476101", "29001000000017"
CAEN, LOUIS = "FR-141186001", "29003000000015"
LUCAS = "29001000000025"  # Bayeux, pending
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(demo_app):
    return demo_app.test_client()


def csrf(client, path="/login"):
    return _TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def login(client, library=BAYEUX, card=CAMILLE, password="1234"):
    r = client.post("/login", data={"csrf_token": csrf(client), "library": library, "card": card,
                                    "password": password})
    assert r.status_code == 302, r.get_data(as_text=True)


def link(client, library=CAEN, card=LOUIS, password="1234"):
    return client.post("/account/cards", data={"csrf_token": csrf(client, "/account/cards"), "library": library,
                                               "card": card, "password": password})


def linked(demo_app):
    with demo_app.extensions["broker"].db.session() as s:
        return s.scalar(select(func.count()).select_from(PersonCard))


def test_page_needs_a_login(client):
    r = client.get("/account/cards")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_link_then_unlink(client, demo_app):
    login(client)
    page = client.get("/account/cards").get_data(as_text=True)
    assert "Mes cartes" in page and "0017" in page and "Lier une autre carte" in page
    r = link(client)
    assert r.status_code == 302
    page = client.get("/account/cards").get_data(as_text=True)
    assert "0015" in page and "Bibliothèques de Caen la mer" in page and "Mes 2 cartes liées" in page
    assert LOUIS not in page and CAMILLE not in page  # never the full card number
    assert linked(demo_app) == 2
    card_id = re.search(r'name="card" value="(\d+)">\s*<button type="submit" class="secondary">Délier la carte '
                        r'se terminant par 0015', page).group(1)
    r = client.post("/account/cards/unlink", data={"csrf_token": csrf(client, "/account/cards"), "card": card_id})
    assert r.status_code == 302 and linked(demo_app) == 0


def test_english(client):
    login(client)
    page = client.get("/account/cards?lang=en").get_data(as_text=True)
    assert "My cards" in page and "Link another card" in page


@pytest.mark.parametrize("form, status, words", [
    ({"library": BAYEUX, "card": CAMILLE, "password": "1234"}, 400, "carte avec laquelle vous êtes connecté"),
    ({"library": "FR-000000000", "card": LOUIS, "password": "1234"}, 400, "Choisissez votre bibliothèque"),
    ({"library": CAEN, "card": LOUIS, "password": "9999"}, 400, "Numéro de carte ou mot de passe incorrect"),
    ({"library": CAEN, "card": "", "password": ""}, 400, "Saisissez le numéro de votre carte"),
])
def test_bad_input_writes_nothing(client, demo_app, form, status, words):
    login(client)
    r = link(client, **form)
    assert r.status_code == status and words in r.get_data(as_text=True)
    assert linked(demo_app) == 0


def test_card_of_someone_else_answers_like_a_wrong_password(client, demo_app):
    other = demo_app.test_client()
    login(other, CAEN, LOUIS)
    assert link(other, BAYEUX, "29001000000066").status_code == 302  # Nathan's card joins Louis
    login(client)
    wrong = link(client, CAEN, LOUIS, "9999").get_data(as_text=True)
    taken = link(client, BAYEUX, "29001000000066").get_data(as_text=True)
    message = "Numéro de carte ou mot de passe incorrect"
    assert message in wrong and message in taken
    assert linked(demo_app) == 2


def test_pending_card_may_be_linked(client, demo_app):
    login(client)
    assert link(client, BAYEUX, LUCAS).status_code == 302
    page = client.get("/account/cards").get_data(as_text=True)
    assert "En attente de validation" in page


def test_sigb_down_is_a_503(make_app, demo_db, tmp_path, smtp_sink):
    import shutil

    shutil.copy(demo_db(sip2="offline"), tmp_path / "o.db")
    app = make_app(database_url=f"sqlite:///{tmp_path / 'o.db'}", **smtp_sink.settings)
    client = app.test_client()
    login(client, "FR-147626101", "V0001", "4321")  # a local library: logs in without a SIGB
    r = link(client)
    assert r.status_code == 503 and "ne répond pas" in r.get_data(as_text=True)
    with app.extensions["broker"].db.session() as s:
        assert s.scalar(select(func.count()).select_from(PersonEvent)) == 0


def test_over_the_limit(make_app, demo_db, tmp_path, smtp_sink):
    import shutil

    shutil.copy(demo_db(sip2="online"), tmp_path / "d.db")
    app = make_app(database_url=f"sqlite:///{tmp_path / 'd.db'}", cards_max_per_person=2, **smtp_sink.settings)
    client = app.test_client()
    login(client)
    assert link(client).status_code == 302
    r = link(client, BAYEUX, LUCAS)
    assert r.status_code == 409 and "nombre maximum de cartes liées (2)" in r.get_data(as_text=True)
    assert linked(app) == 2


def test_choose_the_history_kept(client, demo_app):
    # both cards open Cafeyn before being linked: the page offers the choice
    runtime = demo_app.extensions["broker"]
    for library, card in ((BAYEUX, CAMILLE), (CAEN, LOUIS)):
        assert open_supplier(runtime, library, card).granted
    login(client)
    assert link(client).status_code == 302
    page = client.get("/account/cards").get_data(as_text=True)
    assert "Quel historique garder ?" in page and "<legend>Cafeyn</legend>" in page
    choices = re.findall(r'type="radio" id="[^"]+" name="card" value="(\d+)"( checked)?', page)
    assert len(choices) == 2 and choices[0][1] == " checked"  # the first card's is kept unless chosen
    r = client.post("/account/cards/keep", data={"csrf_token": csrf(client, "/account/cards"),
                                                 "sector": "cafeyn", "card": choices[1][0]})
    assert r.status_code == 302
    page = client.get("/account/cards").get_data(as_text=True)
    choices = re.findall(r'type="radio" id="[^"]+" name="card" value="(\d+)"( checked)?', page)
    assert choices[1][1] == " checked"
    r = client.post("/account/cards/keep", data={"csrf_token": csrf(client, "/account/cards"),
                                                 "sector": "nope", "card": choices[1][0]})
    assert r.status_code == 400


def test_refusal_page_explains_each_linked_card(demo_app):
    lea = demo_app.test_client()
    login(lea, BAYEUX, "29001000000058")  # Léa: expired at Bayeux (calvados)
    assert link(lea).status_code == 302  # Louis's active card in Caen la mer
    assert lea.get("/go/cafeyn").status_code in (200, 302, 303)  # reachable through the Caen la mer card
    r = lea.get("/go/vodeclic")  # offered by calvados only
    page = r.get_data(as_text=True)
    assert r.status_code == 403
    assert "Aucune de vos cartes ne donne accès à cette ressource" in page
    assert "carte se terminant par 0058 : inscription expirée" in page
    assert ("Bibliothèques de Caen la mer), carte se terminant par 0015 : ressource non proposée par ce réseau"
            in page)


def test_export_then_erasure(client, demo_app):
    login(client)
    assert link(client).status_code == 302
    data = client.get("/account/export").get_json()
    part = data["linked_cards"]
    assert [(c["library"], c["card_last_characters"]) for c in part["cards"]] == [(BAYEUX, "0017"), (CAEN, "0015")]
    assert part["identity_kept_by_default"] == {"library": BAYEUX, "card_last_characters": "0017"}
    assert [(h["action"], h["by"], h["card_last_characters"]) for h in part["history"]] == [
        ("link", "patron", "0017"), ("link", "patron", "0015")]
    assert LOUIS not in str(data) and CAMILLE not in str(data)
    # closing the account erases the card: it leaves the person, which is dissolved (one card left)
    r = client.post("/account/close", data={"csrf_token": csrf(client, "/account/close"), "confirm": "yes"})
    assert r.status_code == 302
    from broker.db.person_models import Person, PersonSubject

    with demo_app.extensions["broker"].db.session() as s:
        for model in (Person, PersonCard, PersonEvent, PersonSubject):
            assert s.scalars(select(model)).all() == []
    louis = demo_app.test_client()
    login(louis, CAEN, LOUIS)
    assert louis.get("/account/export").get_json()["linked_cards"] is None
