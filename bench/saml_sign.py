"""SAML signing micro-benchmark: in-process (python-xmlsec) against pysaml2's ``xmlsec1`` subprocess.

Builds the same Response Sésame sends (one assertion, six attributes) and
signs it repeatedly, for ``--duration`` seconds per variant:

- ``inprocess``: broker.providers.saml.signing (parse, sign, serialise), the SSO path's cost;
- ``inprocess_full``: building the response with pysaml2 classes and signing it;
- ``inprocess_encrypted``: the same plus AES-256-GCM/RSA-OAEP encryption of the assertion;
- ``xmlsec1_subprocess``: pysaml2's default CryptoBackendXmlSec1 (temporary files + one
  ``xmlsec1`` process per signature).

Prints one JSON line: signatures per second and mean milliseconds for each.

    .venv/bin/python bench/saml_sign.py [--duration 3] [--bits 3072]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from lxml import etree  # noqa: E402

from broker.keys import KeyMaterial, _self_signed, generate, public_jwk  # noqa: E402
from broker.providers.saml import messages, signing  # noqa: E402

ATTRIBUTES = {
    "pairwise-id": ["abcdefghijklmnopqrstuvwxyz234567@calvados.sesame.example.org"],
    "eduPersonEntitlement": ["urn:mace:dir:entitlement:common-lib-terms"],
    "eduPersonScopedAffiliation": ["member@calvados.sesame.example.org"],
    "library": ["FR-147626101"],
    "network": ["calvados"],
    "ageBracket": ["26-64"],
}


def key_material(bits: int) -> KeyMaterial:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    jwk = public_jwk(key.public_key(), alg="RS256", use="sig")
    return KeyMaterial(jwk["kid"], "saml-signing", "RS256", "current", key, pem,
                       _self_signed(key, "bench"), jwk)


def unsigned_response(km: KeyMaterial) -> bytes:
    """A complete Response whose signature we strip, so each variant signs the same document."""
    now = datetime.now(UTC)
    delivery = messages.Delivery("https://sp.example.org/shibboleth", "https://sp.example.org/acs", "_req1",
                                 sign_assertion=False, sign_response=True, encryption_cert=None)
    subject = messages.Subject("abcdefghijklmnopqrstuvwxyz234567", messages.NAMEID_PERSISTENT, now, "_s1")
    xml = messages.success_response("https://sesame.example.org/saml/metadata", delivery, subject, ATTRIBUTES,
                                    now=now, lifetime=300, signing_key=km)
    root = etree.fromstring(xml)
    root.remove(root.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    return etree.tostring(root)


def run(label: str, fn, duration: float) -> dict:
    fn()  # warm-up: parsed keys, caches
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < duration:
        fn()
        count += 1
    elapsed = time.perf_counter() - started
    return {"variant": label, "per_second": round(count / elapsed, 1), "mean_ms": round(1000 * elapsed / count, 3),
            "count": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--bits", type=int, default=3072, help="RSA key size of the signing key (Sésame: 3072).")
    args = parser.parse_args()

    km = key_material(args.bits)
    document = unsigned_response(km)
    _key, _pem, enc_cert, _jwk = generate("saml-encryption")
    now = datetime.now(UTC)
    delivery = messages.Delivery("https://sp.example.org/shibboleth", "https://sp.example.org/acs", "_req1",
                                 sign_assertion=False, sign_response=True, encryption_cert=None)
    encrypted = replace(delivery, encryption_cert=enc_cert)
    subject = messages.Subject("abcdefghijklmnopqrstuvwxyz234567", messages.NAMEID_PERSISTENT, now, "_s1")

    def inprocess():
        root = etree.fromstring(document)
        signing.sign(root, km)
        etree.tostring(root)

    def inprocess_full():
        messages.success_response("https://sesame.example.org/saml/metadata", delivery, subject, ATTRIBUTES,
                                  now=now, lifetime=300, signing_key=km)

    def inprocess_encrypted():
        messages.success_response("https://sesame.example.org/saml/metadata", encrypted, subject, ATTRIBUTES,
                                  now=now, lifetime=300, signing_key=km)

    results = [run("inprocess", inprocess, args.duration),
               run("inprocess_full", inprocess_full, args.duration),
               run("inprocess_encrypted", inprocess_encrypted, args.duration)]

    binary = shutil.which("xmlsec1")
    if binary:
        from saml2 import samlp
        from saml2.sigver import CryptoBackendXmlSec1, pre_signature_part

        workdir = Path(tempfile.mkdtemp(prefix="saml-bench-"))
        key_file = workdir / "key.pem"
        key_file.write_text(km.private_pem)
        response = samlp.response_from_string(document.decode())
        response.signature = pre_signature_part(response.id, km.certificate_b64,
                                                sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                                digest_alg="http://www.w3.org/2001/04/xmlenc#sha256")
        statement = response.to_string().decode()
        backend = CryptoBackendXmlSec1(binary)

        def subprocess_sign():
            backend.sign_statement(statement, "urn:oasis:names:tc:SAML:2.0:protocol:Response", str(key_file),
                                   response.id)

        results.append(run("xmlsec1_subprocess", subprocess_sign, args.duration))
        shutil.rmtree(workdir, ignore_errors=True)
    speedup = None
    if len(results) == 4:
        speedup = round(results[0]["per_second"] / results[3]["per_second"], 1)
    print(json.dumps({"rsa_bits": args.bits, "cpus": os.cpu_count(), "results": results,
                      "inprocess_vs_subprocess": speedup}))


if __name__ == "__main__":
    main()
