"""Keep credentials that travel in URLs (signed approval links' `token=`, `access_token=`, `password=`...) out
of access logs."""

from __future__ import annotations

import logging
import re

_SECRET_QUERY = re.compile(
    r"((?:^|[?&;])[^=&;\s?]*(?:token|passw|pwd|secret|key|sig|auth|credential|session|code|state)[^=&;\s]*=)[^&;\s]*",
    re.I)
"""A query parameter whose name mentions a credential (`token`, `access_token`, `password`, `client_secret`,
`key`, `api_key`, `signature`, `auth`, `code`, SSO `state`...): its value is replaced by `***`."""


def redact_url(text: str) -> str:
    return _SECRET_QUERY.sub(r"\1***", text)


class RedactQuerySecrets(logging.Filter):
    """For uvicorn's access log, whose record args are (client, method, path?query, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


def install() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuerySecrets) for f in logger.filters):
        logger.addFilter(RedactQuerySecrets())
