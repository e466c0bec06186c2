"""E-mail over SMTP with the standard library: one connection reused for a whole run,
STARTTLS or implicit TLS and login when configured, ``multipart/alternative`` with a text
and an HTML part, and the campaign's deterministic ``Message-ID``.

Replies are sorted the way SMTP means them: 4xx and lost connections are transient
(:class:`TransientError`, retried), 5xx for a recipient is that message ``failed`` with the
server's words as the reason; a login the server rejects stops the run
(:class:`~insightloop.errors.ConfigError`: nothing was sent with it).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from insightloop.errors import ConfigError
from insightloop.services.campaigns.channels.base import Message, Outcome, TransientError


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send (``INSIGHTLOOP_SMTP_*`` in the CLI)."""

    host: str
    port: int = 25
    sender: str = "insightloop@localhost"
    starttls: bool = False
    tls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @property
    def domain(self) -> str:
        """The domain of the Message-IDs: the sender's."""
        return self.sender.rpartition("@")[2].strip(">").strip() or "insightloop.local"


def mime(message: Message, sender: str) -> EmailMessage:
    """The MIME message: text, plus an HTML alternative when there is one."""
    out = EmailMessage()
    out["From"] = sender
    out["To"] = message.address or ""
    out["Subject"] = message.subject
    out["Message-ID"] = message.message_id
    out["Date"] = formatdate(localtime=False)
    out["X-Campaign-ID"] = message.campaign_id
    out.set_content(message.text or "")
    if message.html:
        out.add_alternative(message.html, subtype="html")
    return out


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"smtp {code} {' '.join(words.split())}"[:200]


class EmailChannel:
    """SMTP delivery over one reused connection."""

    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        where = f"{cfg.host}:{cfg.port}"
        try:
            smtp: smtplib.SMTP = (smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                                   context=ssl.create_default_context())
                                  if cfg.tls else
                                  smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout))
            smtp.ehlo()
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg.user:
                smtp.login(cfg.user, cfg.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ConfigError(f"SMTP server {where} refused the login of {cfg.user!r} "
                              f"({_reply(exc.smtp_code, exc.smtp_error)}); check "
                              "INSIGHTLOOP_SMTP_USER and INSIGHTLOOP_SMTP_PASSWORD") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ConfigError(f"SMTP server {where} does not support {exc}; send without "
                              "--starttls/--smtp-user or use another server") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"smtp {where} unreachable: {exc}") from None
        return smtp

    def deliver(self, message: Message) -> Outcome:
        if not message.address:
            return Outcome("failed", "no_address")
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(mime(message, self.config.sender),
                                              self.config.sender, [message.address])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return self._classified(code, text)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            return self._classified(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"smtp {self.config.host}:{self.config.port} "
                                 f"connection lost: {exc}") from None
        if refused:
            code, text = next(iter(refused.values()))
            return self._classified(code, text)
        return Outcome("delivered")

    @staticmethod
    def _classified(code: int, text: bytes | str) -> Outcome:
        if 400 <= code < 500:
            raise TransientError(_reply(code, text))
        return Outcome("failed", _reply(code, text))

    def reset(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
