"""Typed settings: defaults < TOML file < ``BROKER_*`` environment < overrides.

The TOML file is the one named by ``BROKER_CONFIG``, else ``instance/broker.toml``
when it exists. Sections flatten into keys: ``[smtp] host`` is ``smtp_host``,
set from the environment as ``BROKER_SMTP_HOST``. ``config/broker.example.toml``
documents every key; a test keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import ssl
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

#: the instance folder of a service running as root (a packaged install's usual place)
SYSTEM_INSTANCE = Path("/var/lib/sesame")


def default_instance_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where an instance keeps its files when ``BROKER_INSTANCE_PATH`` does not say.

    ``/var/lib/sesame`` for a service running as root, else ``$XDG_DATA_HOME/sesame``
    (``~/.local/share/sesame``): never inside the installed package.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get("BROKER_INSTANCE_PATH")
    if explicit:
        return Path(explicit)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return SYSTEM_INSTANCE
    data_home = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "share")
    return Path(data_home) / "sesame"


def _doc(text: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    if default is dataclasses.MISSING and "default_factory" not in kw:
        return field(metadata={"doc": text}, **kw)
    return field(default=default, metadata={"doc": text}, **kw)


@dataclass(frozen=True)
class Settings:
    """Every setting Sésame reads. Field names are the flattened TOML keys."""

    secret_key: str = _doc("Secret that signs CSRF tokens and short-lived codes and encrypts secrets at rest (≥ 32 characters). May be rotated: see secret_keys.")
    secret_keys: tuple[str, ...] = _doc("Instance secrets, newest first, comma-separated (each ≥ 32 characters, no comma): the first signs and encrypts, the others still verify and decrypt until `broker secrets rotate` has run. Replaces secret_key, which is a one-key list.", ())
    base_url: str = _doc("Public URL of the broker (issuer, entity ID base). https makes the session cookie Secure.", "http://127.0.0.1:5000")
    instance_path: str = _doc("Folder for the embedded database and instance files (BROKER_INSTANCE_PATH; default /var/lib/sesame as root, else ~/.local/share/sesame).", "")
    database_url: str = _doc("SQLAlchemy URL of the database (SQLite default; postgresql+psycopg://… in production).", "")
    redis_url: str = _doc("Redis URL for short-lived state; empty → the embedded SQL state store.", "")
    default_locale: str = _doc("Language of the pages when the browser does not ask (fr or en).", "fr")
    timezone: str = _doc("Time zone of the network's libraries (IANA name): every date and time shown on pages, in e-mails and in exports is in it; storage stays UTC.", "Europe/Paris")
    log_level: str = _doc("Logging level (DEBUG, INFO, WARNING, ERROR).", "INFO")
    log_json: bool = _doc("Write logs as one JSON object per line.", True)
    trust_proxy: int = _doc("Number of reverse proxies in front whose X-Forwarded-* headers are trusted.", 0)
    plugins_load_entrypoints: bool = _doc("Load third-party plugins from the `broker` entry-point group.", True)
    plugins_disabled: tuple[str, ...] = _doc("Names of plugins not to register.", ())
    session_idle_timeout: int = _doc("Seconds without activity after which a patron session ends.", 1800)
    session_absolute_timeout: int = _doc("Seconds after login after which a patron session ends anyway.", 28800)
    staff_session_timeout: int = _doc("Seconds after which a staff session ends.", 3600)
    login_ip_limit: int = _doc("Login attempts (right or wrong) allowed per client address in any 60 seconds: a flood guard.", 60)
    login_ip_failures: int = _doc("Failed logins (patron and staff counted apart) per client address, across cards, "
                                  "in the sliding window before that address must wait between attempts.", 50)
    login_ip_window: int = _doc("Seconds of the sliding window of login_ip_failures.", 86400)
    login_ip_max_delay: int = _doc("Longest wait between two attempts of an address over its failure budget "
                                   "(the wait doubles with each failure, from one second).", 300)
    login_known_days: int = _doc("Days a card (or staff account) that signed in from an address skips that "
                                 "address's back-off.", 180)
    login_alarm_cards: int = _doc("Distinct cards (or staff accounts) failing to log in across the network within "
                                  "5 minutes that raise the spraying alarm.", 50)
    login_card_failures: int = _doc("Failed logins on one card before it is locked for a while.", 5)
    login_lockout_seconds: int = _doc("How long a card stays locked after too many failures.", 900)
    cards_max_per_person: int = _doc("Library cards one person may link together (they then share one identity at every supplier).", 5)
    connector_breaker_failures: int = _doc("Consecutive SIGB failures that open a library's circuit breaker.", 5)
    connector_breaker_reset: int = _doc("Seconds before an open breaker lets one probe through.", 30)
    connector_cache_seconds: int = _doc("Seconds a successful SIGB lookup is cached (never secrets).", 300)
    smtp_host: str = _doc("SMTP server for patron and staff e-mail; empty disables sending.", "")
    smtp_port: int = _doc("SMTP port (usually 587 with starttls, 465 with tls, 25 for a local relay).", 25)
    smtp_tls: str = _doc("starttls, tls (implicit TLS, SMTPS) or none; the server's certificate is always verified. Empty: starttls, or none when smtp_host is a loopback address (a relay on this machine).", "")
    smtp_ca_file: str = _doc("PEM file of the certificate authorities trusted for the SMTP server instead of the system's store (e.g. an internal CA); empty: the system's store.", "")
    smtp_starttls: bool = _doc("Deprecated: true means smtp_tls = \"starttls\".", False)
    smtp_username: str = _doc("SMTP user name, if the server needs one (sent only over verified TLS).", "")
    smtp_password: str = _doc("SMTP password, if the server needs one.", "")
    smtp_sender: str = _doc("Deprecated: the address of mail_from, used when mail_from is empty.", "Sésame <no-reply@localhost>")
    smtp_timeout: int = _doc("Seconds to wait for the SMTP server at each step.", 10)
    mail_from: str = _doc("Sender of the e-mails (\"Sésame <no-reply@bibliotheques.example.org>\" or a bare address). An e-mail about a network is sent in the network's name (its branding name) from this address; empty: smtp_sender.", "")
    mail_send_at_once: bool = _doc("Try each e-mail right after the change that causes it is committed, in the same process (a failure is retried from the outbox); false leaves all sending to the mail worker or `broker mail send-pending`.", True)
    mail_max_attempts: int = _doc("Attempts before an e-mail is marked failed and shown to the network admins.", 24)
    mail_retry_seconds: int = _doc("Wait before the first retry of an e-mail; doubled at each attempt up to mail_retry_max_seconds.", 60)
    mail_retry_max_seconds: int = _doc("Longest wait between two attempts of an e-mail.", 3600)
    mail_poll_seconds: int = _doc("How often the mail worker looks for e-mails to send.", 15)
    mail_keep_days: int = _doc("Days a sent e-mail's trace (subject and dates; its address and text are erased when sent) and a failed e-mail are kept.", 30)
    keys_signing_key_file: str = _doc("PEM private key for SAML signing; empty → keys generated and kept in the database.", "")
    keys_signing_cert_file: str = _doc("PEM certificate matching keys_signing_key_file.", "")
    saml_entity_id: str = _doc("SAML entity ID of the IdP; empty → <base_url>/saml/metadata.", "")
    saml_metadata_valid_days: int = _doc("validUntil of the published metadata, in days.", 7)
    saml_sign_metadata: bool = _doc("Sign the published metadata.", True)
    saml_assertion_lifetime: int = _doc("Seconds an assertion is valid.", 300)
    saml_organization_name: str = _doc("md:Organization name in the IdP metadata (the body running Sésame).", "Sésame")
    saml_organization_url: str = _doc("md:OrganizationURL in the IdP metadata; empty → base_url.", "")
    saml_technical_contact_name: str = _doc("Technical contact (md:ContactPerson) in the IdP metadata, for federation operators; empty → the organization name.", "")
    saml_technical_contact_email: str = _doc("E-mail of the technical contact in the IdP metadata; empty → no technical contact published (federations require one).", "")
    saml_support_contact_name: str = _doc("Support contact (md:ContactPerson) in the IdP metadata, for suppliers' help desks; empty → the organization name.", "")
    saml_support_contact_email: str = _doc("E-mail of the support contact in the IdP metadata; empty → no support contact published.", "")
    saml_display_name_fr: str = _doc("mdui:DisplayName in French, shown by suppliers' discovery pages.", "Sésame — bibliothèques")
    saml_display_name_en: str = _doc("mdui:DisplayName in English.", "Sésame — libraries")
    saml_description_fr: str = _doc("mdui:Description in French.", "Connexion avec sa carte de bibliothèque aux ressources numériques du réseau.")
    saml_description_en: str = _doc("mdui:Description in English.", "Sign in with a library card to the network's digital resources.")
    saml_information_url: str = _doc("mdui:InformationURL (both languages); empty → base_url.", "")
    saml_privacy_url: str = _doc("mdui:PrivacyStatementURL (both languages); empty → <base_url>/privacy.", "")
    saml_logo_url: str = _doc("mdui:Logo (https URL of an image); empty → <base_url>/static/favicon.svg.", "")
    saml_logo_width: int = _doc("Width in pixels of the mdui:Logo.", 64)
    saml_logo_height: int = _doc("Height in pixels of the mdui:Logo.", 64)
    oidc_code_lifetime: int = _doc("Seconds an authorization code is valid.", 60)
    oidc_access_token_lifetime: int = _doc("Seconds an access token is valid.", 600)
    oidc_refresh_token_lifetime: int = _doc("Seconds a refresh token is valid (for clients allowed refresh tokens).", 2592000)
    cas_ticket_lifetime: int = _doc("Seconds a CAS service ticket is valid.", 10)
    stats_flush_ms: int = _doc("Milliseconds usage events wait in a worker to be written together (0: each at once, in its request).", 1000)
    retention_usage_events_days: int = _doc("Days raw usage events are kept before only aggregates remain (≤ 365).", 365)
    retention_refused_registrations_days: int = _doc("Days refused or abandoned registrations are kept.", 90)
    retention_inactive_membership_days: int = _doc("Days after which an ended membership's personal data is erased.", 365)
    demo: bool = _doc("Demo mode: the demo banner and accounts on the home page, the demo suppliers under /demo/suppliers/, statistics aggregated on demand.", False)
    metrics_bind: str = _doc("HOST:PORT on which `broker serve` answers /metrics for Prometheus (e.g. 127.0.0.1:9464); empty: no separate listener.", "")
    metrics_token: str = _doc("Bearer token that lets /metrics answer on the public port (≥ 32 characters); empty: /metrics there is 404.", "")

    def __post_init__(self) -> None:
        if not self.secret_keys:  # secret_key alone is a one-key list
            object.__setattr__(self, "secret_keys", (self.secret_key,))

    @property
    def effective_mail_from(self) -> str:
        """The sender of the e-mails: mail_from, else the deprecated smtp_sender."""
        return self.mail_from or self.smtp_sender

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.instance_path) / 'broker.db'}"

    @property
    def effective_smtp_tls(self) -> str:
        """starttls, tls or none: smtp_tls, else the deprecated smtp_starttls, else by the host."""
        if self.smtp_tls:
            return self.smtp_tls
        if self.smtp_starttls:
            return "starttls"
        return "none" if is_loopback(self.smtp_host) else "starttls"

    @property
    def effective_saml_entity_id(self) -> str:
        return self.saml_entity_id or f"{self.base_url.rstrip('/')}/saml/metadata"

    @classmethod
    def keys(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


def _field_type(f: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(Settings)
    return hints[f.name]


def _coerce(key: str, value: Any, typ: Any, source: str) -> Any:
    origin = typing.get_origin(typ)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.lower() in {"1", "true", "yes", "on"}
        raise ConfigError(key, "expected true or false", source=source)
    if typ is int:
        if isinstance(value, bool):
            raise ConfigError(key, "expected an integer", source=source)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"expected an integer, got {value!r}", source=source) from None
    if origin is tuple:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(key, "expected a list of strings", source=source)
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}", source=source)
        return value
    raise ConfigError(key, f"unsupported type {typ}", source=source)  # pragma: no cover


def _validate(s: Settings) -> None:
    if len(s.secret_key) < 32:
        raise ConfigError("secret_key", "missing or too short: set BROKER_SECRET_KEY to at least 32 random characters")
    _validate_secret_keys(s.secret_keys)
    parts = urlsplit(s.base_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError("base_url", f"expected an http(s) URL such as https://sesame.example.org, got {s.base_url!r}")
    if s.database_url and not (s.database_url.startswith("sqlite") or s.database_url.startswith("postgresql")):
        raise ConfigError("database_url", f"expected a sqlite:/// or postgresql+psycopg:// URL, got {s.database_url.split('@')[-1]!r}")
    if s.redis_url and urlsplit(s.redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError("redis_url", "expected a redis://, rediss:// or unix:// URL")
    if s.default_locale not in {"fr", "en"}:
        raise ConfigError("default_locale", "expected fr or en")
    if not _known_zone(s.timezone):
        raise ConfigError("timezone", f"expected an IANA time zone such as Europe/Paris, got {s.timezone!r}")
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("log_level", "expected DEBUG, INFO, WARNING or ERROR")
    _check_range(s, "stats_flush_ms", 0, 60_000, "milliseconds")
    _check_range(s, "retention_usage_events_days", 1, 365, "days")
    if s.metrics_bind:
        parse_bind(s.metrics_bind, key="metrics_bind")
    if s.metrics_token and len(s.metrics_token) < 32:
        raise ConfigError("metrics_token", "too short: use at least 32 random characters")
    _validate_mail(s)
    for name in ("session_idle_timeout", "session_absolute_timeout", "login_card_failures", "oidc_code_lifetime",
                 "cas_ticket_lifetime", "login_ip_limit", "login_ip_failures", "login_ip_window", "login_ip_max_delay",
                 "login_alarm_cards"):
        if getattr(s, name) <= 0:
            raise ConfigError(name, "expected a positive integer")
    _check_range(s, "cards_max_per_person", 2, 50, "cards")


def _check_range(s: Settings, name: str, low: int, high: int, unit: str) -> None:
    """The setting ``name`` lies between ``low`` and ``high`` (counted in ``unit``); ConfigError otherwise."""
    if not low <= getattr(s, name) <= high:
        raise ConfigError(name, f"expected {low} to {high} {unit}")


def parse_bind(value: str, *, key: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair; ConfigError naming ``key`` otherwise."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(key, f"expected HOST:PORT such as 127.0.0.1:9464, got {value!r}")
    return host, int(port)


def _validate_secret_keys(keys: tuple[str, ...]) -> None:
    """Each key long enough, none twice (where a key is, never what it is)."""
    for n, key in enumerate(keys, 1):
        if len(key) < 32:
            raise ConfigError("secret_keys", f"key {n} of {len(keys)} is too short: each key needs at least 32 "
                                             "random characters (keys are separated by commas, newest first)")
        if key in keys[:n - 1]:
            raise ConfigError("secret_keys", f"key {n} of {len(keys)} repeats an earlier key")


def _resolve_secret_keys(values: dict[str, Any]) -> None:
    """secret_keys wins; secret_key, when also given, must be one of them; secret_key becomes the newest."""
    if "secret_keys" not in values:
        return
    keys = values["secret_keys"]
    if not keys:
        raise ConfigError("secret_keys", "empty: give the new key, then the old ones, separated by commas")
    _validate_secret_keys(keys)
    if "secret_key" in values and values["secret_key"] not in keys:
        raise ConfigError("secret_keys", "does not contain secret_key: list every key in secret_keys "
                                         "(newest first) and remove secret_key")
    values["secret_key"] = keys[0]


SMTP_TLS_MODES = ("starttls", "tls", "none")


def is_loopback(host: str) -> bool:
    """A host name or address that never leaves this machine."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _validate_mail(s: Settings) -> None:
    if s.smtp_tls not in ("", *SMTP_TLS_MODES):
        raise ConfigError("smtp_tls", f"expected starttls, tls or none, got {s.smtp_tls!r}")
    if s.smtp_starttls and s.smtp_tls not in ("", "starttls"):
        raise ConfigError("smtp_starttls", f"deprecated alias of smtp_tls = \"starttls\", which contradicts smtp_tls = {s.smtp_tls!r}: remove it")
    if not 1 <= s.smtp_port <= 65535:
        raise ConfigError("smtp_port", "expected a port number (1 to 65535)")
    if s.smtp_ca_file:
        path = Path(s.smtp_ca_file)
        try:
            with open(path, "rb"):
                pass
            ssl.create_default_context(cafile=str(path))
        except ssl.SSLError:  # (an OSError too: first)
            raise ConfigError("smtp_ca_file", f"{path} holds no PEM certificate") from None
        except OSError as exc:
            raise ConfigError("smtp_ca_file", f"cannot read {path}: {exc.strerror}") from None
    if s.smtp_host and s.smtp_username and s.effective_smtp_tls == "none":
        raise ConfigError("smtp_username", "SMTP credentials are only sent over verified TLS: set smtp_tls to starttls or tls")
    if "@" not in parseaddr(s.effective_mail_from)[1]:
        setting = "mail_from" if s.mail_from else "smtp_sender"
        raise ConfigError(setting, f"expected an e-mail address (\"Name <address@example.org>\"), got {s.effective_mail_from!r}")
    _check_range(s, "smtp_timeout", 1, 300, "seconds")
    _check_range(s, "mail_max_attempts", 1, 1000, "attempts")
    if s.mail_retry_seconds < 1:
        raise ConfigError("mail_retry_seconds", "expected a positive number of seconds")
    if s.mail_retry_max_seconds < s.mail_retry_seconds:
        raise ConfigError("mail_retry_max_seconds", "expected at least mail_retry_seconds")
    _check_range(s, "mail_poll_seconds", 1, 3600, "seconds")
    _check_range(s, "mail_keep_days", 1, 365, "days")


def _known_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def config_file_path(environ: Mapping[str, str]) -> Path | None:
    """The TOML file to read: BROKER_CONFIG, else instance/broker.toml if present."""
    explicit = environ.get("BROKER_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError("BROKER_CONFIG", f"no such file: {path}")
        return path
    candidate = default_instance_path(environ) / "broker.toml"
    return candidate if candidate.is_file() else None


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
) -> Settings:
    """Build the settings from every layer; raise ConfigError naming the key at fault."""
    environ = os.environ if environ is None else environ
    known = {f.name: f for f in Settings.keys()}
    values: dict[str, Any] = {}

    path = Path(config_file) if config_file else config_file_path(environ)
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = _flatten(tomllib.load(fh))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), f"not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(str(path), f"cannot read: {exc.strerror}") from exc
        for key, value in data.items():
            if key not in known:
                raise ConfigError(key, "unknown setting", source=str(path))
            values[key] = _coerce(key, value, _field_type(known[key]), str(path))

    for name, value in environ.items():
        if not name.startswith("BROKER_") or name in {"BROKER_CONFIG"}:
            continue
        key = name[len("BROKER_"):].lower()
        if key in known:
            values[key] = _coerce(name, value, _field_type(known[key]), "environment")

    for key, value in (overrides or {}).items():
        if key not in known:
            raise ConfigError(key, "unknown setting", source="overrides")
        values[key] = _coerce(key, value, _field_type(known[key]), "overrides")

    values.setdefault("instance_path", str(default_instance_path(environ)))


    _resolve_secret_keys(values)
    if "secret_key" not in values:
        raise ConfigError("secret_key", "missing: set BROKER_SECRET_KEY (at least 32 random characters) or secret_key in the config file")
    settings = Settings(**values)
    _validate(settings)
    return settings
