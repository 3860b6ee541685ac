"""E-mails to patrons about their registration, sent once the change is committed.

Every message is in French then English, names the library so that it reads
right ("de la Médiathèque de Vire"), dates the decision in the network's time
zone, and ends with the portal's address (with the patron's library chosen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from .. import localtime, wording
from ..domain.memberships import MembershipState, Transition
from ..mail import queue

if TYPE_CHECKING:
    from ..runtime import Runtime


def portal_link(runtime: Runtime, lib) -> str:
    """The portal's login page with ``lib`` chosen."""
    return f"{runtime.settings.base_url.rstrip('/')}/login?{urlencode({'library': lib.code})}"


def network_name(lib) -> str:
    network = lib.partner.network
    return str((network.branding or {}).get("name") or network.name)


def signature(runtime: Runtime, lib) -> str:
    return (f"\n\n-- \n{network_name(lib)} – {lib.name}\n"
            f"Portail / Portal : {runtime.settings.base_url.rstrip('/')}/\n")


def when(runtime: Runtime, language: str) -> str:
    """Now, as the library's clock reads it ("6 décembre 2026 à 14:05")."""
    return localtime.format_datetime(runtime.clock.utcnow(), language, runtime.settings.timezone, "long")


def send(runtime: Runtime, session, patron_email: str | None, lib, subject: str, body: str) -> None:
    queue(runtime, session, patron_email, subject, body + signature(runtime, lib), library=lib)


def _next_steps(runtime: Runtime, lib) -> tuple[str, str]:
    link = portal_link(runtime, lib)
    fr = (f"Pour accéder aux ressources, connectez-vous au portail avec votre carte "
          f"{wording.of(lib.name)} et votre mot de passe habituel :\n{link}")
    en = f"To use the resources, log in at the portal with your {lib.name} library card and usual password:\n{link}"
    return fr, en


def registered(runtime: Runtime, session, patron, lib, membership) -> None:
    of_lib = wording.of(lib.name)
    if membership.state == MembershipState.ACTIVE:
        subject = "Votre inscription est validée / Your registration is confirmed"
        steps_fr, steps_en = _next_steps(runtime, lib)
        body = (f"Bonjour,\n\nVotre inscription aux ressources numériques {of_lib} est validée.\n\n{steps_fr}\n\n"
                f"Hello,\n\nYour registration with {lib.name} is confirmed.\n\n{steps_en}")
    else:
        subject = "Nous avons reçu votre inscription / We received your registration"
        body = (f"Bonjour,\n\nVotre demande d'inscription aux ressources numériques {of_lib} est enregistrée "
                f"le {when(runtime, 'fr')}. L'équipe de votre bibliothèque va la vérifier ; vous recevrez "
                "un message dès sa décision.\n\n"
                f"Hello,\n\nYour registration with {lib.name} was received on {when(runtime, 'en')}. "
                "Your library will check it and you will get an e-mail when it decides.")
    send(runtime, session, patron.email, lib, subject, body)


_DECISIONS = {
    Transition.APPROVE: ("Votre inscription est validée / Your registration is approved",
                         "Votre inscription aux ressources numériques {of} est validée depuis le {when}.",
                         "{name} approved your registration on {when}."),
    Transition.REFUSE: ("Votre inscription n'a pas été validée / Your registration was declined",
                        "Votre inscription aux ressources numériques {of} n'a pas été validée (décision du {when}).",
                        "{name} declined your registration on {when}."),
    Transition.SUSPEND: ("Votre accès est suspendu / Your access is suspended",
                         "Votre accès aux ressources numériques {of} est suspendu depuis le {when}.",
                         "Your access to the online resources of {name} is suspended since {when}."),
    Transition.REACTIVATE: ("Votre accès est rétabli / Your access is restored",
                            "Votre accès aux ressources numériques {of} est rétabli depuis le {when}.",
                            "Your access to the online resources of {name} is restored since {when}."),
}


def decided(runtime: Runtime, session, patron, lib, membership, transition: Transition, reason: str) -> None:
    if transition not in _DECISIONS:
        return
    subject, fr, en = _DECISIONS[transition]
    fr = fr.format(of=wording.of(lib.name), name=lib.name, when=when(runtime, "fr"))
    en = en.format(name=lib.name, when=when(runtime, "en"))
    why_fr = f"\nMotif : {reason}" if reason else ""
    why_en = f"\nReason: {reason}" if reason else ""
    if transition in (Transition.APPROVE, Transition.REACTIVATE):
        steps_fr, steps_en = _next_steps(runtime, lib)
        fr, en = f"{fr}\n\n{steps_fr}", f"{en}\n\n{steps_en}"
    else:
        link = portal_link(runtime, lib)
        fr += f"\nVotre compte sur le portail vous en dit plus : {link}"
        en += f"\nYour account on the portal tells you more: {link}"
    contact = f"\n\nContact : {lib.contact_email}" if lib.contact_email else ""
    body = f"Bonjour,\n\n{fr}{why_fr}{contact}\n\nHello,\n\n{en}{why_en}"
    send(runtime, session, patron.email, lib, subject, body)
