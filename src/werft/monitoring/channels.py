"""Notification channels: webhooks (generic, Slack, Mattermost, Teams) and e-mail.

A channel's configuration is checked when it is created and stored without
secrets: an SMTP password, and any secret a webhook header needs, are read
from environment variables of the process that sends (``password_env``,
``${VAR}`` in a header value). Sending raises :class:`DeliveryError` with a
message that says what went wrong and never repeats a secret or a webhook
URL's path (Slack and Teams put their token there).

Webhooks are posted with httpx: this module is the monitoring package's one
outbound edge, where timeouts and TLS matter more than layering purity.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from werft import __version__
from werft.errors import InvalidInputError, UnavailableError
from werft.monitoring import messages

WebhookFormat = Literal["generic", "slack", "mattermost", "teams"]
WEBHOOK_FORMATS: tuple[WebhookFormat, ...] = ("generic", "slack", "mattermost", "teams")

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ADDRESS = re.compile(r"[^@\s<>,]+@[^@\s<>,]+")


class DeliveryError(UnavailableError):
    """A channel did not take a message (connection refused, HTTP 500, SMTP error...)."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookConfig(_Config):
    """Where and how to post: the URL, the receiver's format, extra headers."""

    url: str
    format: WebhookFormat = "generic"
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return url


class EmailConfig(_Config):
    """An SMTP server and the addresses to write to."""

    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    sender: str | None = None
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=300)

    @field_validator("to")
    @classmethod
    def _addresses(cls, to: list[str]) -> list[str]:
        bad = [a for a in to if not _ADDRESS.fullmatch(a.strip())]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(map(repr, bad))}")
        return [a.strip() for a in to]

    @field_validator("sender")
    @classmethod
    def _sender(cls, sender: str | None) -> str | None:
        if sender is not None and not _ADDRESS.search(sender):
            raise ValueError(f"{sender!r} is not an e-mail address")
        return sender

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, name: str | None) -> str | None:
        if name is not None and not _ENV_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not an environment variable name")
        return name


def check_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The channel configuration, validated and with defaults filled in.

    Raises:
        InvalidInputError: Unknown kind, missing or malformed fields, a password
            given in clear, or contradictory TLS options.
    """
    if kind == "email" and "password" in config:
        raise InvalidInputError(
            "e-mail channels do not store passwords; put the SMTP password in an environment "
            "variable of the werft server and give its name as password_env"
        )
    model: type[WebhookConfig | EmailConfig]
    if kind == "webhook":
        model = WebhookConfig
    elif kind == "email":
        model = EmailConfig
    else:
        raise InvalidInputError(f"channel kind {kind!r} is unknown; use webhook or email")
    try:
        parsed = model.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInputError(f"{kind} channel config is invalid: {problems}") from None
    if isinstance(parsed, EmailConfig):
        if parsed.ssl and parsed.starttls:
            raise InvalidInputError(
                "choose ssl (implicit TLS, usually port 465) or starttls (usually port 587), "
                "not both"
            )
        if parsed.username and not parsed.password_env:
            raise InvalidInputError(
                f"SMTP user {parsed.username!r} needs password_env: the name of the environment "
                "variable holding the password"
            )
    return parsed.model_dump(mode="json")


def send(kind: str, config: Mapping[str, Any], payload: dict[str, Any]) -> None:
    """Deliver ``payload`` over the channel.

    Raises:
        DeliveryError: The receiver did not take it; the message says why.
    """
    if kind == "webhook":
        post_webhook(WebhookConfig.model_validate(dict(config)), payload)
    elif kind == "email":
        send_email(EmailConfig.model_validate(dict(config)), payload)
    else:
        raise DeliveryError(f"channel kind {kind!r} is unknown")


def _expand(value: str, what: str) -> str:
    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise DeliveryError(f"environment variable {name} ({what}) is not set")
        return os.environ[name]

    return _ENV_REF.sub(lookup, value)


def _where(url: str) -> str:
    # Slack and Teams webhook URLs carry their secret in the path: name the host only.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def post_webhook(config: WebhookConfig, payload: dict[str, Any]) -> None:
    """POST the payload, formatted for the receiver; any non-2xx answer is a failure."""
    headers = {"user-agent": f"werft/{__version__}"}
    headers.update({k: _expand(v, f"header {k}") for k, v in config.headers.items()})
    body = messages.webhook_body(config.format, payload)
    try:
        with httpx.Client(timeout=config.timeout) as client:
            response = client.post(config.url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(
            f"POST to {_where(config.url)} failed: {exc.__class__.__name__}: {exc}"
        ) from exc
    if not response.is_success:
        text = " ".join(response.text.split())[:200]
        raise DeliveryError(
            f"webhook {_where(config.url)} answered HTTP {response.status_code} "
            f"{response.reason_phrase}" + (f": {text}" if text else "")
        )


def _password(config: EmailConfig) -> str | None:
    if not config.password_env:
        return None
    password = os.environ.get(config.password_env)
    if password is None:
        raise DeliveryError(
            f"environment variable {config.password_env} (the SMTP password) is not set "
            "in the process that sends notifications"
        )
    return password


def email_message(config: EmailConfig, payload: dict[str, Any]) -> EmailMessage:
    """The e-mail for a payload: subject, sender, recipients, plain-text body."""
    subject, body = messages.email(payload)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.sender or f"werft@{socket.gethostname()}"
    message["To"] = ", ".join(config.to)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="werft")
    message.set_content(body)
    return message


def send_email(config: EmailConfig, payload: dict[str, Any]) -> None:
    """Send the e-mail through the SMTP server (implicit TLS, STARTTLS or plain)."""
    password = _password(config)
    message = email_message(config, payload)
    context = ssl.create_default_context()
    where = f"SMTP server {config.host}:{config.port}"
    try:
        smtp: smtplib.SMTP
        if config.ssl:
            smtp = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with smtp:
            if config.starttls:
                smtp.starttls(context=context)
            if config.username and password is not None:
                smtp.login(config.username, password)
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{where}: {exc.__class__.__name__}: {exc}") from exc
    if refused:
        raise DeliveryError(f"{where} refused recipients: {', '.join(sorted(refused))}")
