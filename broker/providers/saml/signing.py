"""XML signatures in-process (python-xmlsec) and the HTTP-Redirect binding's query signatures.

Signing happens in this process with keys parsed once: no ``xmlsec1``
subprocess per message. Verification is strict about structure, which is
what defeats signature wrapping: exactly one signature, a direct child of the
message, whose single reference points at the message's own unique ID, with
only the enveloped and exclusive-c14n transforms. Callers then read fields
from that very element and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from typing import Any
from urllib.parse import quote, unquote_plus

import xmlsec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from ...keys import KeyMaterial
from .names import (
    DIGEST_ALGORITHMS,
    DS,
    SAML,
    SIG_RSA_SHA256,
    SIG_RSA_SHA384,
    SIG_RSA_SHA512,
    SIGNATURE_ALGORITHMS,
    TRANSFORM_ENVELOPED,
    TRANSFORM_EXC_C14N,
)
from .xmlsafe import SamlInputError

_HASHES = {SIG_RSA_SHA256: hashes.SHA256, SIG_RSA_SHA384: hashes.SHA384, SIG_RSA_SHA512: hashes.SHA512}
_lock = threading.Lock()
_certificate_texts: dict[str, str] = {}
_cert_keys: dict[str, xmlsec.Key] = {}
_public_keys: dict[str, Any] = {}
_CACHE_MAX = 512
_X509_DATA = f"{{{DS}}}X509Data"
_X509_CERTIFICATE = f"{{{DS}}}X509Certificate"


def _certificate_text(km: KeyMaterial) -> str | None:
    """The certificate's base64 text for KeyInfo (parsed once per key)."""
    if not km.certificate_pem:
        return None
    text = _certificate_texts.get(km.kid)
    if text is None:
        der = x509.load_pem_x509_certificate(km.certificate_pem.encode()).public_bytes(serialization.Encoding.DER)
        encoded = base64.b64encode(der).decode()
        text = "\n".join(encoded[i:i + 64] for i in range(0, len(encoded), 64)) + "\n"
        with _lock:
            _certificate_texts[km.kid] = text
    return text


def _cert_key(cert_pem: str) -> xmlsec.Key:
    key = _cert_keys.get(cert_pem)
    if key is None:
        key = xmlsec.Key.from_memory(cert_pem.encode(), xmlsec.constants.KeyDataFormatCertPem, None)
        with _lock:
            if len(_cert_keys) > _CACHE_MAX:
                _cert_keys.clear()
            _cert_keys[cert_pem] = key
    return key


def public_key_of(cert_pem: str) -> Any:
    key = _public_keys.get(cert_pem)
    if key is None:
        key = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
        with _lock:
            if len(_public_keys) > _CACHE_MAX:
                _public_keys.clear()
            _public_keys[cert_pem] = key
    return key


# -- enveloped XML signatures ---------------------------------------------------------
def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def sign(element: etree._Element, km: KeyMaterial) -> None:
    """Add an enveloped RSA-SHA256 signature over ``element`` (placed after its Issuer).

    XML-DSig with exclusive canonicalization, computed here with the key parsed once
    (``km.private_key``): the digest is taken before the signature is inserted, which is
    what the enveloped-signature transform yields, and SignedInfo is canonicalized and
    signed. xmlsec's own signing would copy the key for every signature, which costs as
    much again as the RSA operation; verification (``verify``) stays with xmlsec.
    """
    ref_id = element.get("ID")
    if not ref_id:  # pragma: no cover - our own builders always set one
        raise ValueError("the element to sign has no ID")
    digest = base64.b64encode(hashlib.sha256(_c14n(element)).digest()).decode()
    signature = xmlsec.template.create(element, xmlsec.constants.TransformExclC14N,
                                       xmlsec.constants.TransformRsaSha256, ns="ds")
    issuer = element.find(f"{{{SAML}}}Issuer")
    if issuer is not None:
        issuer.addnext(signature)
    else:
        element.insert(0, signature)
    ref = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri=f"#{ref_id}")
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
    ref.find(f"{{{DS}}}DigestValue").text = digest
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    value = km.private_key.sign(_c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())
    signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()
    key_info = xmlsec.template.ensure_key_info(signature)
    cert_text = _certificate_text(km)
    if cert_text is not None:
        key_info.text = "\n"
        x509_data = etree.SubElement(key_info, _X509_DATA)
        x509_data.text = "\n"
        x509_data.tail = "\n"
        certificate = etree.SubElement(x509_data, _X509_CERTIFICATE)
        certificate.text = cert_text
        certificate.tail = "\n"


def signature_of(root: etree._Element) -> etree._Element | None:
    """The message's own signature after structural checks, or None when unsigned."""
    everywhere = list(root.iter(f"{{{DS}}}Signature"))
    if not everywhere:
        return None
    direct = root.findall(f"{{{DS}}}Signature")
    if len(everywhere) != 1 or len(direct) != 1:
        raise SamlInputError("the message must carry exactly one signature, on the message itself")
    signature = direct[0]
    msg_id = root.get("ID")
    if not msg_id:
        raise SamlInputError("a signed message needs an ID attribute")
    if sum(1 for el in root.iter(etree.Element) if el.get("ID") == msg_id) != 1:
        raise SamlInputError("the message's ID appears more than once")
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    if signed_info is None:
        raise SamlInputError("the signature has no SignedInfo")
    c14n = signed_info.find(f"{{{DS}}}CanonicalizationMethod")
    method = signed_info.find(f"{{{DS}}}SignatureMethod")
    if c14n is None or c14n.get("Algorithm") != TRANSFORM_EXC_C14N:
        raise SamlInputError("the signature must use exclusive canonicalization")
    if method is None or method.get("Algorithm") not in SIGNATURE_ALGORITHMS:
        raise SamlInputError("signature algorithm not accepted (RSA with SHA-256, -384 or -512 only)")
    refs = signed_info.findall(f"{{{DS}}}Reference")
    if len(refs) != 1 or refs[0].get("URI") != f"#{msg_id}":
        raise SamlInputError("the signature must reference the message itself, and only it")
    digest = refs[0].find(f"{{{DS}}}DigestMethod")
    if digest is None or digest.get("Algorithm") not in DIGEST_ALGORITHMS:
        raise SamlInputError("digest algorithm not accepted (SHA-256, -384 or -512 only)")
    transforms = refs[0].findall(f"{{{DS}}}Transforms/{{{DS}}}Transform")
    if any(t.get("Algorithm") not in (TRANSFORM_ENVELOPED, TRANSFORM_EXC_C14N) for t in transforms):
        raise SamlInputError("the signature uses a transform that is not accepted")
    return signature


def verify(root: etree._Element, certificates: tuple[str, ...]) -> bool:
    """True when ``root`` is validly signed by one of ``certificates``; False when unsigned.

    A signature that is present but wrong, or badly formed, raises SamlInputError.
    """
    signature = signature_of(root)
    if signature is None:
        return False
    if not certificates:
        raise SamlInputError("the message is signed but the supplier's metadata has no signing certificate")
    # the key comes from the supplier's metadata only: nothing in the message is resolved
    for key_info in signature.findall(f"{{{DS}}}KeyInfo"):
        signature.remove(key_info)
    for cert in certificates:
        ctx = xmlsec.SignatureContext()
        ctx.key = _cert_key(cert)
        ctx.register_id(root, "ID")
        try:
            ctx.verify(signature)
            return True
        except xmlsec.Error:
            continue
    raise SamlInputError("the message's signature does not verify with the supplier's certificates")


# -- HTTP-Redirect binding ---------------------------------------------------------------
def redirect_query(param: str, encoded: str, relay_state: str | None, km: KeyMaterial) -> str:
    """The signed query string of the HTTP-Redirect binding (SAML bindings §3.4.4.1)."""
    parts = [f"{param}={quote(encoded, safe='')}"]
    if relay_state:
        parts.append(f"RelayState={quote(relay_state, safe='')}")
    parts.append(f"SigAlg={quote(SIG_RSA_SHA256, safe='')}")
    octets = "&".join(parts).encode()
    signature = km.private_key.sign(octets, padding.PKCS1v15(), hashes.SHA256())
    return "&".join(parts) + "&Signature=" + quote(base64.b64encode(signature).decode(), safe="")


def raw_query_values(query_string: bytes) -> dict[str, str]:
    """Query parameters exactly as sent (still URL-encoded): signatures cover these octets.

    Names are keyed once decoded, as the request parser reads them: ``%53AMLRequest``
    is ``SAMLRequest`` there, so it must count as a repetition here, or the view
    would read one value while the signature was checked over another.
    """
    values: dict[str, str] = {}
    for part in query_string.decode("ascii", "replace").split("&"):
        raw_name, _, value = part.partition("=")
        name = unquote_plus(raw_name)
        if name in values:
            raise SamlInputError(f"the query repeats the parameter {name[:64]}")
        values[name] = value
    return values


def verify_redirect(query_string: bytes, param: str, certificates: tuple[str, ...]) -> bool:
    """Check the Redirect-binding signature of ``param`` (SAMLRequest/SAMLResponse); False when unsigned."""
    raw = raw_query_values(query_string)
    if "Signature" not in raw:
        if "SigAlg" in raw:
            raise SamlInputError("SigAlg without Signature")
        return False
    sig_alg = unquote_plus(raw.get("SigAlg", ""))
    if sig_alg not in _HASHES:
        raise SamlInputError("signature algorithm not accepted (RSA with SHA-256, -384 or -512 only)")
    if not certificates:
        raise SamlInputError("the message is signed but the supplier's metadata has no signing certificate")
    parts = [f"{param}={raw.get(param, '')}"]
    if "RelayState" in raw:
        parts.append(f"RelayState={raw['RelayState']}")
    parts.append(f"SigAlg={raw['SigAlg']}")
    octets = "&".join(parts).encode()
    try:
        signature = base64.b64decode(unquote_plus(raw["Signature"]), validate=True)
    except (binascii.Error, ValueError):
        raise SamlInputError("the Signature parameter is not valid base64") from None
    for cert in certificates:
        key = public_key_of(cert)
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(signature, octets, padding.PKCS1v15(), _HASHES[sig_alg]())
            return True
        except InvalidSignature:
            continue
    raise SamlInputError("the message's signature does not verify with the supplier's certificates")


def fingerprint(cert_pem: str) -> str:
    """SHA-256 fingerprint of a certificate, as operators compare them."""
    der = x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()
