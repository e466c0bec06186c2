"""Personal data masked in log records: e-mail addresses and phone numbers (international
``+NN``, mainland China mobiles, UK/US-style groups of 10+ digits) become ``[email]`` and
``[phone]`` in every log line, whoever logs it.

:func:`install` wraps the logging record factory once per process (the CLI and the server
call it), so the masking holds for every logger and handler, third-party ones included.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[ \-]?)?(?:\(\d{2,4}\)[ \-]?)?"
                    r"\d{2,5}(?:[ \-]\d{3,6}){1,3}(?![\w.])|(?<!\d)1[3-9]\d{9}(?!\d)")
_installed = False


def mask_text(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced by placeholders."""
    masked = _EMAIL.sub("[email]", text)
    return _PHONE.sub(lambda m: "[phone]" if sum(c.isdigit() for c in m.group()) >= 10
                      else m.group(), masked)


def install() -> None:
    """Mask every log record of this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
