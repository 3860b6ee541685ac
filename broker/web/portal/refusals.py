"""The refusal page: for every reason of the access decision (``domain.access.Reason``), what happened,
what to do, and whom to ask.

``render_refusal`` is public: SAML, OIDC and CAS providers show the same page
when the access decision refuses an issuance.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request, url_for
from flask_babel import gettext as _

from ...domain.access import Reason, Refusal
from ...domain.patrons import CardProblem
from ...errors import NotFound
from ...services import standing as standings
from ...services.access import load_patron
from ..patron_session import current_patron
from .blueprint import bp
from .patron_page import LibraryView, apply_brand, chosen_library, runtime

STATUS = {Reason.SIGB_UNAVAILABLE: 503, Reason.UNKNOWN_SUPPLIER: 404}
#: reasons whose page says more when the patron is logged in: the referent's reason, the agreement's end
_PERSONAL = {Reason.MEMBERSHIP_REFUSED, Reason.MEMBERSHIP_SUSPENDED, Reason.PARTNER_INACTIVE}


@dataclass(frozen=True)
class RefusalText:
    title: str
    what: str
    todo: str
    #: the next step offered as a button: login, register, account, home or none
    action: str = "home"


def _out_of_service(title: str, what: str) -> RefusalText:
    """The patron's library is out of the service for a while: nothing to do but ask when it comes back."""
    return RefusalText(title, what,
                       _("Renseignez-vous auprès de votre bibliothèque pour savoir quand le service reprendra."),
                       "none")


def _texts(reason: str, detail: str, ages: tuple[int | None, int | None], noted: bool = False) -> RefusalText:
    """The page's sentences; ``noted``: the referent's own reason is shown beside them."""
    if reason == Reason.UNKNOWN_SUPPLIER:
        return RefusalText(_("Ressource introuvable"),
                           _("Cette ressource n'existe pas ou n'est plus proposée par le réseau."),
                           _("Choisissez une ressource dans le catalogue."))
    if reason == Reason.SUPPLIER_DISABLED:
        return RefusalText(_("Ressource suspendue par le réseau"),
                           _("Le réseau a suspendu l'accès à cette ressource pour le moment. Vous n'y êtes pour rien, "
                             "et votre inscription est conservée."),
                           _("Choisissez une autre ressource dans le catalogue, ou renseignez-vous auprès de votre "
                             "bibliothèque pour savoir quand elle reviendra."))
    if reason == Reason.CREDENTIALS:
        return RefusalText(_("Carte ou mot de passe refusé"),
                           _("Votre bibliothèque n'a pas reconnu ce numéro de carte et ce mot de passe."),
                           _("Vérifiez votre numéro de carte et votre mot de passe, puis reconnectez-vous. "
                             "En cas d'oubli, votre bibliothèque peut vous redonner votre mot de passe."),
                           "login")
    if reason == Reason.SIGB_UNAVAILABLE:
        return RefusalText(_("Votre bibliothèque ne répond pas"),
                           _("Le logiciel de votre bibliothèque ne répond pas pour le moment. Vous n'y êtes pour rien."),
                           _("Réessayez dans quelques minutes. Si le problème dure, prévenez votre bibliothèque."),
                           "login")
    if reason == Reason.CARD_INVALID:
        what = {
            CardProblem.EXPIRED: _("Votre carte de bibliothèque est expirée."),
            CardProblem.LOST: _("Votre carte de bibliothèque est déclarée perdue."),
            CardProblem.BLOCKED: _("Votre carte de bibliothèque est bloquée."),
        }.get(detail, _("Votre carte de bibliothèque n'est pas utilisable en ce moment."))
        return RefusalText(_("Votre carte n'est pas valide"), what,
                           _("Passez à votre bibliothèque ou contactez-la pour renouveler ou débloquer votre carte."),
                           "none")
    if reason == Reason.NOT_REGISTERED:
        return RefusalText(_("Vous n'êtes pas inscrit ou inscrite au service"),
                           _("Votre carte est reconnue, mais vous n'êtes pas encore inscrit ou inscrite "
                             "aux ressources numériques."),
                           _("Inscrivez-vous en ligne : c'est gratuit et il suffit de votre carte."), "register")
    if reason == Reason.MEMBERSHIP_PENDING:
        return RefusalText(_("Votre inscription attend sa validation"),
                           _("Votre bibliothèque n'a pas encore validé votre inscription."),
                           _("Vous recevrez un e-mail dès qu'elle sera validée. Si l'attente vous semble longue, "
                             "contactez votre bibliothèque."), "account")
    if reason == Reason.MEMBERSHIP_REFUSED:
        return RefusalText(_("Votre inscription n'a pas été validée"),
                           _("Votre bibliothèque n'a pas validé votre inscription."),
                           _("Pour toute question, contactez votre bibliothèque ; vous pourrez ensuite vous "
                             "inscrire de nouveau.") if noted else
                           _("Contactez votre bibliothèque pour en connaître la raison ; vous pourrez ensuite "
                             "vous inscrire de nouveau."), "account")
    if reason == Reason.MEMBERSHIP_SUSPENDED:
        return RefusalText(_("Votre accès est suspendu"),
                           _("Votre bibliothèque a suspendu votre accès aux ressources numériques."),
                           _("Contactez votre bibliothèque pour le faire rétablir.") if noted else
                           _("Contactez votre bibliothèque pour savoir pourquoi et le faire rétablir."), "account")
    if reason == Reason.MEMBERSHIP_EXPIRED:
        return RefusalText(_("Votre inscription a expiré"),
                           _("Votre inscription aux ressources numériques n'est plus valable, par exemple "
                             "parce que votre carte a expiré."),
                           _("Renouvelez votre carte auprès de votre bibliothèque : elle pourra ensuite "
                             "réactiver votre accès."), "account")
    if reason == Reason.PARTNER_INACTIVE:
        return _out_of_service(_("Votre bibliothèque ne participe pas au service en ce moment"),
                               _("L'accord entre votre commune ou intercommunalité et le réseau n'est pas en "
                                 "vigueur aujourd'hui. Vous n'y êtes pour rien."))
    if reason == Reason.LIBRARY_DISABLED:
        return _out_of_service(_("Votre bibliothèque a quitté le service pour le moment"),
                               _("Le réseau a suspendu l'accès aux ressources numériques pour les usagers de votre "
                                 "bibliothèque. Vous n'y êtes pour rien, et votre inscription est conservée."))
    if reason == Reason.NOT_IN_BUNDLE:
        return RefusalText(_("Ressource non proposée par votre réseau"),
                           _("Cette ressource n'est pas proposée aux usagers de votre réseau de bibliothèques."),
                           _("Consultez le catalogue des ressources auxquelles vous avez droit."))
    if reason == Reason.AGE:
        low, high = ages
        if low is not None and high is not None:
            what = _("Cette ressource est réservée aux personnes de %(low)d à %(high)d ans.", low=low, high=high)
        elif low is not None:
            what = _("Cette ressource est réservée aux personnes de %(low)d ans et plus.", low=low)
        elif high is not None:
            what = _("Cette ressource est réservée aux personnes de %(high)d ans au plus.", high=high)
        else:
            what = _("Cette ressource est réservée à une autre tranche d'âge que la vôtre.")
        return RefusalText(_("Ressource réservée à une tranche d'âge"), what,
                           _("Choisissez une autre ressource dans le catalogue. Si votre date de naissance est "
                             "mal enregistrée, contactez votre bibliothèque."))
    return RefusalText(_("Accès refusé"),
                       _("L'accès à cette ressource n'est pas autorisé pour votre compte."),
                       _("Contactez votre bibliothèque pour en savoir plus."))


def refusal_texts(standing: standings.Standing) -> RefusalText:
    """What the refusal page would say for this standing: the home and account pages say it first."""
    return _texts(standing.reason, standing.detail, (None, None), noted=bool(standing.note))


def refusal_link(standing: standings.Standing) -> str:
    """The refusal page a blocked patron's "Accéder" buttons lead to (no access is attempted)."""
    return url_for("portal.refusal", reason=standing.reason, detail=standing.detail or None)


def card_reason(code: str) -> str:
    """Why one of a person's linked cards does not give access, in a few words (refusal page)."""
    return {
        Reason.CARD_INVALID: _("carte expirée, perdue ou bloquée"),
        Reason.NOT_REGISTERED: _("pas d'inscription aux ressources numériques"),
        Reason.MEMBERSHIP_PENDING: _("inscription en attente de validation"),
        Reason.MEMBERSHIP_REFUSED: _("inscription refusée"),
        Reason.MEMBERSHIP_SUSPENDED: _("accès suspendu"),
        Reason.MEMBERSHIP_EXPIRED: _("inscription expirée"),
        Reason.PARTNER_INACTIVE: _("bibliothèque hors du service en ce moment"),
        Reason.LIBRARY_DISABLED: _("bibliothèque suspendue par le réseau"),
        Reason.SUPPLIER_DISABLED: _("ressource suspendue par le réseau"),
        Reason.NOT_IN_BUNDLE: _("ressource non proposée par ce réseau"),
        Reason.AGE: _("ressource réservée à une autre tranche d'âge"),
    }.get(code, _("accès non autorisé"))


def _library_view(library) -> LibraryView | None:
    if library is None or isinstance(library, LibraryView):
        return library
    try:
        return LibraryView.from_row(library)
    except Exception:  # a detached row whose network was not loaded: fall back to the page's library
        return None


def render_refusal(outcome_or_refusal, library=None, *, status: int | None = None):
    """The refusal page as a (body, status) response: 403, 404 (unknown supplier) or 503 (SIGB down).

    :param outcome_or_refusal: an ``AccessOutcome`` from services.access.check, a ``Refusal``,
        or a reason code.
    :param library: the patron's library (a Library row or LibraryView); defaults to the
        outcome's library, then to the logged-in patron's or the chosen one.
    """
    refusal = outcome_or_refusal
    ages: tuple[int | None, int | None] = (None, None)
    decided = None
    if hasattr(outcome_or_refusal, "decision"):
        decided = outcome_or_refusal
        refusal = outcome_or_refusal.decision.refusal or Refusal(Reason.POLICY)
        library = library if library is not None else outcome_or_refusal.library
        facts = getattr(outcome_or_refusal, "supplier_facts", None)
        if facts is not None:
            ages = (facts.min_age, facts.max_age)
    if not isinstance(refusal, Refusal):
        refusal = Refusal(str(refusal))
    view = _library_view(library) or chosen_library()
    apply_brand(view)
    code = refusal.code
    known = code in {r.value for r in Reason}
    patron = current_patron()
    standing = _standing(patron, code, decided)
    text = _texts(code, refusal.detail, ages, noted=bool(standing and standing.note))
    # a plugin policy's own message is shown as such (escaped by the template)
    extra = refusal.detail if (not known or code == Reason.POLICY) else ""
    http_status = status or STATUS.get(code, 403)
    cards = [(card, card_reason(card.reason)) for card in getattr(outcome_or_refusal, "others", ())]
    return render_template("portal/refusal.html", text=text, code=code, extra=extra, library=view,
                           patron=patron, standing=standing,
                           next_url=request.full_path.rstrip("?"), cards=cards), http_status


def _standing(patron, code: str, decided=None) -> standings.Standing | None:
    """More about this refusal for the logged-in patron: the referent's reason, the agreement's end."""
    if patron is None or code not in _PERSONAL:
        return None
    with runtime().db.session() as session:
        if decided is not None and decided.patron is not None:
            # the access decision's outcome: its patron and library, no second read of the patron
            found = standings.explain(session, code, decided.patron.id, decided.library, runtime().clock.today())
        else:
            row = load_patron(session, patron.uid)
            if row is None or row.erased_at is not None:
                return None
            found = standings.standing_of(session, row, runtime().clock.today())
    return found if found.reason == code else None


@bp.get("/refusal/<reason>")
def refusal(reason: str):
    """A refusal page by reason code, for links and providers that redirect rather than render."""
    if reason not in {r.value for r in Reason}:
        raise NotFound(_("Cette page n'existe pas."))
    detail = request.args.get("detail", "")
    detail = detail if detail in {p.value for p in CardProblem} else ""
    return render_refusal(Refusal(Reason(reason), detail))
