"""Signed approval link tokens never reach the access log."""

import logging

from api.logredact import RedactQuerySecrets, redact_url


def test_redact_url():
    assert redact_url("/api/v1/tasks/t1/act?token=abc.def&x=1") == "/api/v1/tasks/t1/act?token=***&x=1"
    assert redact_url("/x?a=1&api_key=wfo_secret") == "/x?a=1&api_key=***"
    assert redact_url("/api/v1/workflows?limit=5") == "/api/v1/workflows?limit=5"


def test_access_log_record_is_redacted(caplog):
    logger = logging.getLogger("test.access")
    logger.addFilter(RedactQuerySecrets())
    with caplog.at_level(logging.INFO, logger="test.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/api/v1/tasks/t/act?token=SECRET1", "1.1", 200)
    assert "SECRET1" not in caplog.text and "token=***" in caplog.text
