"""The template language on its own: parsing, escapes, encoding, signatures and masking."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from broker.providers.link import template as tpl


def test_literal_braces_and_encoding():
    url = tpl.parse("https://x.example.org/{{json}}?u={uid}&to={target}&s={sig}")
    assert url.fields == {"uid", "target", "sig"}
    out = url.render({"uid": "a b", "target": "https://x.example.org/f?a=1&b=2", "sig": "ff"}, encode=True)
    assert out == "https://x.example.org/{json}?u=a%20b&to=https%3A%2F%2Fx.example.org%2Ff%3Fa%3D1%26b%3D2&s=ff"
    message = tpl.parse("{uid}|{target}")
    assert message.render({"uid": "a b", "target": "https://x/?a=1"}, encode=False) == "a b|https://x/?a=1"


@pytest.mark.parametrize("text,expected", [
    ("{card}", "unknown placeholder {card}"), ("{}", "unknown placeholder {}"), ("{UID}", "unknown placeholder"),
    ("a}b", "lone '}'"), ("{uid", "lone '{'"), ("", "empty"), ("x\n{uid}", "control characters"),
    ("x" * 2001, "longer than"),
])
def test_bad_templates(text, expected):
    with pytest.raises(tpl.TemplateError, match=expected.replace("{", r"\{").replace("}", r"\}")):
        tpl.parse(text)


def test_signatures_match_the_standard_library():
    secret, message = b"k" * 20, "uid1700000000"
    assert tpl.sign("hmac-sha256", secret, message) == hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()
    assert tpl.sign("hmac-sha1", secret, message) == hmac.new(secret, message.encode(), hashlib.sha1).hexdigest()
    assert tpl.sign("md5-concat", secret, message) == hashlib.md5(message.encode() + secret).hexdigest()
    assert tpl.sign("sha1-concat", secret, message) == hashlib.sha1(message.encode() + secret).hexdigest()
    with pytest.raises(tpl.TemplateError):
        tpl.sign("rot13", secret, message)
    assert tpl.label("md5-concat") == "md5-concat (legacy)" and tpl.label("hmac-sha256") == "hmac-sha256"


def test_render_masks_the_identifier_signature_and_personal_data():
    url = tpl.parse("https://x.example.org/?u={uid}&t={ts}&m={email}&n={nonce}&l={library}&s={sig}")
    rendered = tpl.render(url, tpl.parse("{uid}{ts}"), "hmac-sha256", b"s" * 16,
                          {"uid": "SUBJ", "ts": "1700000000", "email": "a@b.org", "nonce": "abc", "library": "FR-1"})
    assert "SUBJ" in rendered.url and "a%40b.org" in rendered.url
    assert rendered.masked == "https://x.example.org/?u=[uid]&t=1700000000&m=[email]&n=[nonce]&l=FR-1&s=[sig]"
