"""Credential types of the vault: a title and a JSON Schema of the (secret) values per type.

Pure data plus one validation helper. Connectors ask for a credential by name and a set of these
types (`NodeContext.credential(name, "redis")`); the vault validates values against the schema on
every write, so a connector can rely on the required fields being there.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema

from wfo.errors import InvalidInput

_STR = {"type": "string", "minLength": 1}
_SECRET = {"type": "string", "minLength": 1, "writeOnly": True}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_URL = {"type": "string", "pattern": "^https?://", "minLength": 8}


def _obj(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False}


def _dsn_or_parts(scheme: str, default_port: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A server credential given as `url` (a DSN) or as host/port/user/password/database."""
    props = {
        "url": {"type": "string", "pattern": f"^{scheme}", "description": f"{scheme}//user:pw@host:port/..."},
        "host": _STR, "port": {**_PORT, "default": default_port},
        "username": {"type": "string"}, "password": {"type": "string", "writeOnly": True},
        "database": {"type": "string"}, **(extra or {}),
    }
    return {"type": "object", "properties": props, "additionalProperties": False,
            "anyOf": [{"required": ["url"]}, {"required": ["host"]}]}


CREDENTIAL_TYPES: dict[str, dict[str, Any]] = {
    "postgres": {"title": "PostgreSQL", "schema": _dsn_or_parts("postgres(ql)?://", 5432)},
    "mysql": {"title": "MySQL / MariaDB", "schema": _dsn_or_parts("mysql://", 3306)},
    "redis": {"title": "Redis", "schema": _dsn_or_parts("rediss?://", 6379, {"db": {"type": "integer", "minimum": 0},
                                                                           "tls": {"type": "boolean"}})},
    "amqp": {"title": "AMQP (RabbitMQ)", "schema": _dsn_or_parts("amqps?://", 5672, {"vhost": {"type": "string"}})},
    "mqtt": {"title": "MQTT", "schema": _obj(["host"], {
        "host": _STR, "port": {**_PORT, "default": 1883}, "username": {"type": "string"},
        "password": {"type": "string", "writeOnly": True}, "tls": {"type": "boolean"},
        "client_id": {"type": "string"}})},
    "nats": {"title": "NATS", "schema": _obj(["servers"], {
        "servers": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^(nats|tls)://"}},
        "user": {"type": "string"}, "password": {"type": "string", "writeOnly": True},
        "token": {"type": "string", "writeOnly": True}})},
    "smtp": {"title": "SMTP", "schema": _obj(["host"], {
        "host": _STR, "port": {**_PORT, "default": 587}, "username": {"type": "string"},
        "password": {"type": "string", "writeOnly": True}, "starttls": {"type": "boolean"},
        "tls": {"type": "boolean"}, "sender": {"type": "string"}})},
    "imap": {"title": "IMAP", "schema": _obj(["host", "username", "password"], {
        "host": _STR, "port": {**_PORT, "default": 993}, "username": _STR, "password": _SECRET,
        "tls": {"type": "boolean", "default": True}})},
    "sftp": {"title": "SFTP", "schema": {**_obj(["host", "username"], {
        "host": _STR, "port": {**_PORT, "default": 22}, "username": _STR,
        "password": {"type": "string", "writeOnly": True}, "private_key": {"type": "string", "writeOnly": True},
        "known_hosts": {"type": "string", "description": "known_hosts lines; empty: do not check host keys"}}),
        "anyOf": [{"required": ["password"]}, {"required": ["private_key"]}]}},
    "s3": {"title": "S3 (or S3-compatible)", "schema": _obj(["access_key_id", "secret_access_key"], {
        "access_key_id": _STR, "secret_access_key": _SECRET, "region": {"type": "string"},
        "endpoint_url": _URL, "session_token": {"type": "string", "writeOnly": True}})},
    "http_basic": {"title": "HTTP basic auth", "schema": _obj(["username", "password"], {
        "username": _STR, "password": _SECRET})},
    "http_bearer": {"title": "HTTP bearer token", "schema": _obj(["token"], {"token": _SECRET})},
    "http_api_key": {"title": "HTTP API key", "schema": _obj(["key"], {
        "key": _SECRET, "header": {"type": "string", "default": "X-API-Key"},
        "query_param": {"type": "string", "description": "send as this query parameter instead of a header"}})},
    "oauth2_client_credentials": {"title": "OAuth2 client credentials", "schema": _obj(
        ["token_url", "client_id", "client_secret"], {
            "token_url": _URL, "client_id": _STR, "client_secret": _SECRET, "scope": {"type": "string"},
            "audience": {"type": "string"}})},
    "slack_webhook": {"title": "Slack incoming webhook", "schema": _obj(["url"], {"url": {**_URL, "writeOnly": True}})},
    "teams_webhook": {"title": "Microsoft Teams incoming webhook",
                      "schema": _obj(["url"], {"url": {**_URL, "writeOnly": True}})},
    "discord_webhook": {"title": "Discord webhook", "schema": _obj(["url"], {"url": {**_URL, "writeOnly": True}})},
    "twilio": {"title": "Twilio (or Twilio-compatible) SMS", "schema": _obj(["account_sid", "auth_token"], {
        "account_sid": _STR, "auth_token": _SECRET, "from": {"type": "string"},
        "base_url": {**_URL, "default": "https://api.twilio.com"}})},
    "n8n_api": {"title": "n8n API / webhook", "schema": _obj(["base_url"], {
        "base_url": _URL, "api_key": {"type": "string", "writeOnly": True},
        "username": {"type": "string"}, "password": {"type": "string", "writeOnly": True}})},
    "jwt_secret": {"title": "JWT signing secret", "schema": _obj(["secret"], {
        "secret": _SECRET, "algorithm": {"enum": ["HS256", "HS384", "HS512", "RS256", "ES256"], "default": "HS256"},
        "public_key": {"type": "string"}})},
    "hmac_secret": {"title": "HMAC secret", "schema": _obj(["secret"], {"secret": _SECRET})},
}


class CredentialValuesInvalid(InvalidInput, ValueError):
    """Values that do not match their type's schema; `field` names where (e.g. ``values.port``)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def validate_values(type_: str, values: Any) -> None:
    """Raise `CredentialValuesInvalid` naming the first bad field. Messages never quote the values."""
    spec = CREDENTIAL_TYPES.get(type_)
    if spec is None:
        raise CredentialValuesInvalid(
            f"unknown credential type {type_!r} (one of: {', '.join(sorted(CREDENTIAL_TYPES))})", "type")
    validator = jsonschema.Draft202012Validator(spec["schema"])
    errors = sorted(validator.iter_errors(values), key=lambda e: (list(e.absolute_path), e.validator))
    if not errors:
        return
    err = errors[0]
    path = ".".join(str(p) for p in err.absolute_path)
    field = "values" + (f".{path}" if path else "")
    if err.validator == "required":
        missing = [r for r in err.validator_value if not isinstance(values, dict) or r not in values]
        field = f"{field}.{missing[0]}" if missing else field
        message = f"{field} is required for a {type_} credential"
    elif err.validator == "additionalProperties":
        extra = sorted(set(values) - set(spec["schema"].get("properties", {}))) if isinstance(values, dict) else []
        field = f"{field}.{extra[0]}" if extra else field
        message = f"{field} is not a field of a {type_} credential"
    elif err.validator == "anyOf":
        options = [" or ".join(s.get("required", [])) for s in err.validator_value]
        message = f"{field}: a {type_} credential needs one of: {', '.join(options)}"
    elif err.validator == "type":
        message = f"{field} must be of type {err.validator_value}"
    else:
        # never echo the value itself: the message of jsonschema quotes it
        message = f"{field} is invalid ({err.validator} {err.validator_value!r})"
    raise CredentialValuesInvalid(message, field)


def secret_strings(type_: str, values: dict[str, Any]) -> list[str]:
    """The values of a credential that are secret: every `writeOnly` field, every `url` (a DSN may
    embed a password) and the password inside it. Host names, ports, user and database names are not
    secret, so they are not scrubbed from outputs."""
    spec = CREDENTIAL_TYPES.get(type_)
    props = (spec or {}).get("schema", {}).get("properties", {})
    found: list[str] = []
    for key, value in values.items():
        secret = spec is None or props.get(key, {}).get("writeOnly") or key == "url"
        if not secret:
            continue
        strings = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] \
            if isinstance(value, list) else []
        for text in strings:
            found.append(text)
            if key == "url":
                try:
                    password = urlsplit(text).password
                except ValueError:
                    password = None
                if password:
                    found.extend({password, unquote(password)})
    return [s for s in found if len(s) >= 4]


def describe_types() -> list[dict[str, Any]]:
    return [{"type": t, "title": s["title"], "schema": s["schema"]} for t, s in CREDENTIAL_TYPES.items()]
