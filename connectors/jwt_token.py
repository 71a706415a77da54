"""`jwt`: sign or verify a JSON Web Token with a key from the credentials vault (an activity: the key is
resolved inside the activity and never enters workflow history)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import jwt as pyjwt

from connectors.base import ComponentError, NodeContext
from connectors.crypto_hmac import secret_bytes
from workflows.components import ComponentSpec

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
KEY_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA")
CREDENTIAL_TYPES = ("jwt_secret",)


class JwtToken:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "jwt", "activity", "Signs a JSON Web Token, or verifies one, with a key credential.",
        {
            "type": "object", "required": ["credential"], "additionalProperties": False,
            "properties": {
                "operation": {"enum": ["sign", "verify"], "default": "sign", "title": "Operation"},
                "credential": {"type": "string", "minLength": 1, "title": "Credential",
                               "description": "name of a `jwt_secret` credential: `secret` for HS*, "
                                              "`private_key`/`public_key` (PEM) for RS/ES/PS/EdDSA"},
                "algorithm": {"enum": list(HMAC_ALGORITHMS + KEY_ALGORITHMS), "default": "HS256",
                              "title": "Algorithm"},
                "payload": {"type": "object", "title": "Claims (sign)", "description": "a `{{ }}` template"},
                "expires_in_seconds": {"type": "integer", "minimum": 1, "title": "Expires in (sign)",
                                       "description": "adds `exp`; `iat` is always added"},
                "issuer": {"type": "string", "title": "Issuer (iss)"},
                "subject": {"type": "string", "title": "Subject (sub, sign)"},
                "audience": {"type": ["string", "array"], "title": "Audience (aud)"},
                "headers": {"type": "object", "title": "Extra header fields (sign), e.g. kid"},
                "token": {"type": "string", "title": "Token (verify)"},
                "leeway_seconds": {"type": "number", "minimum": 0, "maximum": 3600, "default": 0,
                                   "title": "Clock leeway (verify)"},
                "require": {"type": "array", "items": {"type": "string"}, "title": "Required claims (verify)"},
            },
        },
        category="data", title="JWT", icon="badge-check", idempotent=True,
        output_schema={"type": "object", "properties": {
            "token": {"type": "string"}, "valid": {"type": "boolean"}, "payload": {"type": "object"},
            "header": {"type": "object"}}, "additionalProperties": False},
        docs="`sign` outputs `{token}` (claims from `payload`, plus `iat`, and `exp`/`iss`/`sub`/`aud` when "
             "given). `verify` checks the signature, expiry, not-before, issuer and audience and outputs "
             "`{valid: true, payload, header}`; an invalid token fails the node with `InvalidToken` (not "
             "retried), so route the `error` port to handle it. Only the named algorithm is accepted "
             "(no `alg: none`, no algorithm confusion).",
        example={"operation": "sign", "credential": "partner-api", "payload": {"sub": "{{ input.user_id }}"},
                 "expires_in_seconds": 300},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        name = str(config["credential"])
        values = await ctx.credential(name, *CREDENTIAL_TYPES)
        algorithm = config.get("algorithm") or "HS256"
        if algorithm not in HMAC_ALGORITHMS + KEY_ALGORITHMS:
            raise ComponentError(f"jwt: unknown algorithm {algorithm!r}", retryable=False, type="BadConfig")
        op = config.get("operation") or "sign"
        if op == "sign":
            return self._sign(config, values, name, algorithm)
        if op == "verify":
            return self._verify(config, values, name, algorithm)
        raise ComponentError(f"jwt: unknown operation {op!r}", retryable=False, type="BadConfig")

    def _key(self, values: dict[str, Any], name: str, algorithm: str, private: bool) -> Any:
        if algorithm in HMAC_ALGORITHMS:
            return secret_bytes(values, name)
        field = "private_key" if private else "public_key"
        key = values.get(field)
        if not isinstance(key, str) or not key.strip():
            raise ComponentError(f"credential {name!r} has no `{field}` (PEM) for {algorithm}", retryable=False,
                                 type="CredentialInvalid")
        return key

    def _sign(self, config: dict[str, Any], values: dict[str, Any], name: str, algorithm: str) -> Any:
        payload = config.get("payload") or {}
        if not isinstance(payload, dict):
            raise ComponentError("jwt: `payload` must be an object", retryable=False, type="BadInput")
        claims = dict(payload)
        now = datetime.now(timezone.utc)
        claims.setdefault("iat", int(now.timestamp()))
        if config.get("expires_in_seconds"):
            claims["exp"] = int((now + timedelta(seconds=int(config["expires_in_seconds"]))).timestamp())
        for key, claim in (("issuer", "iss"), ("subject", "sub"), ("audience", "aud")):
            if config.get(key) is not None:
                claims[claim] = config[key]
        try:
            token = pyjwt.encode(claims, self._key(values, name, algorithm, True), algorithm=algorithm,
                                 headers=config.get("headers") or None)
        except (ValueError, TypeError, pyjwt.PyJWTError) as err:
            raise ComponentError(f"jwt: cannot sign with credential {name!r}: {type(err).__name__}",
                                 retryable=False, type="JwtSignError") from None
        return {"token": token}

    def _verify(self, config: dict[str, Any], values: dict[str, Any], name: str, algorithm: str) -> Any:
        token = config.get("token")
        if not isinstance(token, str) or not token.strip():
            raise ComponentError("jwt: verify needs a `token`", retryable=False, type="BadInput")
        options: Any = {"require": list(config.get("require") or [])}  # PyJWT's Options TypedDict
        if config.get("audience") is None:
            options["verify_aud"] = False
        try:
            header = pyjwt.get_unverified_header(token)
            payload = pyjwt.decode(
                token.strip(), self._key(values, name, algorithm, False), algorithms=[algorithm],
                audience=config.get("audience"), issuer=config.get("issuer"),
                leeway=float(config.get("leeway_seconds") or 0), options=options)
        except pyjwt.InvalidKeyError:
            raise ComponentError(f"jwt: the key of credential {name!r} cannot verify {algorithm} tokens",
                                 retryable=False, type="CredentialInvalid") from None
        except pyjwt.PyJWTError as err:
            raise ComponentError(f"jwt: invalid token: {err}", retryable=False, type="InvalidToken") from None
        except (ValueError, TypeError) as err:  # a key that is not a usable PEM
            raise ComponentError(f"jwt: the key of credential {name!r} cannot be used ({type(err).__name__})",
                                 retryable=False, type="CredentialInvalid") from None
        return {"valid": True, "payload": payload, "header": header}
