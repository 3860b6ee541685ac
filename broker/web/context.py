"""Template context: the network's branding and the page language."""

from __future__ import annotations

from dataclasses import dataclass

from urllib.parse import urlencode

from flask import Flask, g, request
from flask_babel import get_locale


@dataclass(frozen=True)
class Brand:
    name: str = "Sésame"
    logo: str = ""
    primary: str = "#1d4f91"
    on_primary: str = "#ffffff"

    @classmethod
    def from_network(cls, name: str, branding: dict) -> "Brand":
        return cls(
            name=branding.get("name") or name,
            logo=branding.get("logo", ""),
            primary=branding.get("primary", cls.primary),
            on_primary=branding.get("on_primary", cls.on_primary),
        )


def init_app(app: Flask) -> None:
    @app.context_processor
    def inject() -> dict:
        return {
            "brand": g.get("brand") or Brand(),
            "current_locale": lambda: str(get_locale() or "fr"),
            "lang_url": lang_url,
        }


def lang_url(code: str) -> str:
    """This page in another language: the same query string, with ``lang`` replaced."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", code))
    return "?" + urlencode(args)
