"""Hardened XML input: size limits, no DTD, no entities, no network.

Every SAML message and metadata document Sésame reads goes through
:func:`parse`. A document with a DOCTYPE is refused outright: SAML never needs
one, and refusing it closes entity expansion ("billion laughs") and external
entities (XXE) before any expansion could happen.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

from lxml import etree

from ...errors import InvalidInput

#: an encoded protocol message (query parameter or form field)
MAX_MESSAGE = 64 * 1024
#: the same message once decoded and inflated
MAX_XML = 128 * 1024
#: a supplier's metadata document (a single entity, or a small aggregate)
MAX_METADATA = 2 * 1024 * 1024


class SamlInputError(InvalidInput):
    """A SAML message or metadata document that Sésame refuses to read."""

    code = "saml_invalid"


_ENCODING = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
    collect_ids=False,
)


def parse(data: bytes, *, limit: int = MAX_XML, what: str = "SAML message") -> etree._Element:
    """The root element of ``data``, or SamlInputError saying precisely why not."""
    if len(data) > limit:
        raise SamlInputError(f"{what}: too large ({len(data)} bytes, at most {limit})")
    declared = _ENCODING.match(data)
    if b"\x00" in data[:4096] or (declared and declared.group(1).lower() not in (b"utf-8", b"us-ascii")):
        # in another encoding (UTF-16, UTF-7…) a DOCTYPE could hide from the byte check below
        raise SamlInputError(f"{what}: only UTF-8 documents are accepted")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise SamlInputError(f"{what}: a DOCTYPE or entity declaration is not allowed")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SamlInputError(f"{what}: not well-formed XML ({exc.msg})") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SamlInputError(f"{what}: a DOCTYPE is not allowed")
    for _node in root.iter(etree.Entity, etree.ProcessingInstruction):
        raise SamlInputError(f"{what}: entity references and processing instructions are not allowed")
    return root


def b64decode(value: str, *, what: str, limit: int = MAX_MESSAGE) -> bytes:
    """Strict base64 (whitespace tolerated, as the POST binding allows line breaks)."""
    if len(value) > limit:
        raise SamlInputError(f"{what}: too large ({len(value)} characters, at most {limit})")
    compact = "".join(value.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise SamlInputError(f"{what}: not valid base64") from None


def inflate(data: bytes, *, what: str, limit: int = MAX_XML) -> bytes:
    """Raw DEFLATE (HTTP-Redirect binding) with a bound on the output: no zip bombs."""
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise SamlInputError(f"{what}: not valid DEFLATE data") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise SamlInputError(f"{what}: too large once inflated (at most {limit} bytes)")
    return out


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def text_of(element: etree._Element | None) -> str:
    """An element's text content, comments excluded (a comment must not cut a value in two)."""
    if element is None:
        return ""
    return "".join(element.itertext()).strip()


def tostring(element: etree._Element) -> bytes:
    return etree.tostring(element, encoding="utf-8", xml_declaration=False)
