"""Template context: the network's branding and the page language."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, g
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
        }
