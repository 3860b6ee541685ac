"""Assertion encryption for suppliers that ask for it: AES-GCM, key sent with RSA-OAEP.

The data algorithm follows the ``md:EncryptionMethod`` the supplier lists in
its metadata: AES-256-GCM by default (also when it lists none), AES-CBC only
for a supplier whose metadata list CBC and no GCM (such a supplier is
flagged, see :func:`cbc_only`).

The content key is fresh per assertion and wrapped with the supplier's
encryption certificate from its metadata; only the supplier can read the
assertion, even if the browser or a proxy logs the form it posts.
"""

from __future__ import annotations

import threading

import xmlsec
from lxml import etree

from .names import SAML
from .signing import _cert_key

_local = threading.local()

AES128_CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
AES192_CBC = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
AES128_GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
AES192_GCM = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
#: data encryption algorithms Sésame can use, best first: (xmlsec transform, key bits)
DATA_ALGORITHMS = {
    AES256_GCM: (xmlsec.constants.TransformAes256Gcm, 256),
    AES128_GCM: (xmlsec.constants.TransformAes128Gcm, 128),
    AES192_GCM: (xmlsec.constants.TransformAes192Gcm, 192),
    AES256_CBC: (xmlsec.constants.TransformAes256Cbc, 256),
    AES128_CBC: (xmlsec.constants.TransformAes128Cbc, 128),
    AES192_CBC: (xmlsec.constants.TransformAes192Cbc, 192),
}
DEFAULT_ALGORITHM = AES256_GCM


def choose_algorithm(listed: tuple[str, ...] | list[str]) -> str:
    """The data algorithm for a supplier listing ``listed`` (its md:EncryptionMethod URIs).

    The best one both sides know; AES-256-GCM when the supplier lists no data
    algorithm Sésame knows (metadata often list only the key transport).
    """
    for algorithm in DATA_ALGORITHMS:
        if algorithm in listed:
            return algorithm
    return DEFAULT_ALGORITHM


def cbc_only(listed: tuple[str, ...] | list[str]) -> bool:
    """True when the supplier's metadata leave only AES-CBC (malleable without the response signature)."""
    return choose_algorithm(listed).endswith("-cbc")


def _manager_for(certificate_pem: str) -> xmlsec.KeysManager:
    """A keys manager holding one supplier's certificate, kept per thread.

    Creating a manager costs tens of milliseconds (xmlsec loads its X.509
    store), far more than the encryption itself.
    """
    managers = getattr(_local, "managers", None)
    if managers is None:
        managers = _local.managers = {}
    manager = managers.get(certificate_pem)
    if manager is None:
        if len(managers) > 256:
            managers.clear()
        manager = xmlsec.KeysManager()
        manager.add_key(_cert_key(certificate_pem))
        managers[certificate_pem] = manager
    return manager


def encrypt_assertion(assertion: etree._Element, certificate_pem: str,
                      algorithm: str = DEFAULT_ALGORITHM) -> etree._Element:
    """Replace ``assertion`` (inside its Response) by an ``EncryptedAssertion``; returns the new element."""
    transform, bits = DATA_ALGORITHMS[algorithm]
    template = xmlsec.template.encrypted_data_create(
        assertion, transform, type=xmlsec.constants.TypeEncElement, ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    ctx = xmlsec.EncryptionContext(_manager_for(certificate_pem))
    ctx.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, bits, xmlsec.constants.KeyDataTypeSession)
    encrypted = ctx.encrypt_xml(template, assertion)  # takes the assertion's place in the tree
    wrapper = etree.Element(f"{{{SAML}}}EncryptedAssertion", nsmap={"saml": SAML})
    encrypted.addprevious(wrapper)
    wrapper.append(encrypted)
    return wrapper


def decrypt_element(encrypted_data: etree._Element, private_pems: list[str]) -> etree._Element:
    """Decrypt an ``xenc:EncryptedData`` (e.g. a supplier's EncryptedID) with one of our keys."""
    from copy import deepcopy

    from .xmlsafe import SamlInputError

    for pem in private_pems:
        manager = xmlsec.KeysManager()
        manager.add_key(xmlsec.Key.from_memory(pem.encode(), xmlsec.constants.KeyDataFormatPem, None))
        ctx = xmlsec.EncryptionContext(manager)
        try:
            result = ctx.decrypt(deepcopy(encrypted_data))
        except xmlsec.Error:
            continue
        if isinstance(result, etree._Element):
            return result
        raise SamlInputError("the encrypted element does not hold XML")
    raise SamlInputError("the encrypted element cannot be decrypted with Sésame's encryption keys")
