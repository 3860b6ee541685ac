"""E-mails to patrons about their registration, sent once the change is committed."""

from __future__ import annotations

from ..domain.memberships import MembershipState, Transition
from ..mail import queue

_SIGNATURE = "\n\n-- \nSésame – {library}\n"


def registered(runtime, session, patron, lib, membership) -> None:
    if membership.state == MembershipState.ACTIVE:
        subject = "Votre inscription est validée / Your registration is confirmed"
        body = (f"Bonjour,\n\nVotre inscription aux ressources numériques de {lib.name} est validée : "
                "vous pouvez vous connecter avec votre carte de bibliothèque.\n\n"
                f"Hello,\n\nYour registration with {lib.name} is confirmed: log in with your library card.")
    else:
        subject = "Nous avons reçu votre inscription / We received your registration"
        body = (f"Bonjour,\n\nVotre demande d'inscription aux ressources numériques de {lib.name} est enregistrée. "
                "L'équipe de votre bibliothèque va la vérifier ; vous recevrez un message dès sa décision.\n\n"
                f"Hello,\n\nYour registration with {lib.name} was received. Your library will check it and "
                "you will get an e-mail when it decides.")
    queue(runtime, session, patron.email, subject, body + _SIGNATURE.format(library=lib.name),
          library=lib)


_DECISIONS = {
    Transition.APPROVE: ("Votre inscription est validée / Your registration is approved",
                         "Votre inscription est validée : vous pouvez accéder aux ressources numériques.",
                         "Your registration is approved: you can use the online resources."),
    Transition.REFUSE: ("Votre inscription n'a pas été validée / Your registration was declined",
                        "Votre bibliothèque n'a pas validé votre inscription.",
                        "Your library declined your registration."),
    Transition.SUSPEND: ("Votre accès est suspendu / Your access is suspended",
                         "Votre accès aux ressources numériques est suspendu.",
                         "Your access to the online resources is suspended."),
    Transition.REACTIVATE: ("Votre accès est rétabli / Your access is restored",
                            "Votre accès aux ressources numériques est rétabli.",
                            "Your access to the online resources is restored."),
}


def decided(runtime, session, patron, lib, membership, transition: Transition, reason: str) -> None:
    if transition not in _DECISIONS:
        return
    subject, fr, en = _DECISIONS[transition]
    why_fr = f"\nMotif : {reason}" if reason else ""
    why_en = f"\nReason: {reason}" if reason else ""
    contact = f"\n\nContact : {lib.contact_email}" if lib.contact_email else ""
    body = f"Bonjour,\n\n{fr}{why_fr}{contact}\n\nHello,\n\n{en}{why_en}"
    queue(runtime, session, patron.email, subject, body + _SIGNATURE.format(library=lib.name),
          library=lib)
