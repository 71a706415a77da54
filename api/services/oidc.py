"""OpenID Connect single sign-on (authorization code + PKCE S256), off unless `WFO_OIDC_ISSUER` and
`WFO_OIDC_CLIENT_ID` are set (docs/sso.md).

`begin_login` makes a `state`, a `nonce` and a PKCE verifier, keeps them in Redis for ten minutes under the
sha256 of the state, bound to the browser by a random cookie (only its sha256 is stored), and returns the
IdP's authorization URL. `complete_login` takes the state back exactly once (a replay finds nothing),
checks the browser cookie, exchanges the code with the verifier at the token endpoint, validates the ID
token (signature against the IdP's JWKS, `iss`, `aud`/`azp`, `exp`/`iat`, `nonce`, `at_hash` when present),
maps the roles claim to a project role, finds the user by issuer + subject (never by email alone) or
provisions one, and issues the project's normal access token.

Outbound calls: the IdP is operator configuration (environment), not user input, so its calls do not go
through the SSRF guard (`wfo.netguard`): an in-cluster Keycloak or a loopback IdP (the tests) is legitimate.
They are bounded instead: httpx with timeouts, no redirects followed, answers capped at 1 MiB, and a
plain-http issuer is refused unless it is on loopback. Tokens, codes, the verifier and the client secret are
never logged, never part of an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api import security
from api.permissions import ROLE_RANK
from wfo.errors import Conflict, Forbidden, MalformedRequest, NotFound, Unauthorized, Unavailable, UpstreamError
from wfo.models import Tenant, User, UserIdentity, utcnow
from wfo.settings import Settings

log = logging.getLogger("wfo.api.oidc")

CALLBACK_PATH = "/api/v1/auth/oidc/callback"
BROWSER_COOKIE = "wfo_oidc"
BROWSER_COOKIE_PATH = "/api/v1/auth/oidc"
STATE_TTL_SECONDS = 600
UNUSABLE_PASSWORD = "!sso"  # not an argon2 hash: no password ever verifies against it
MAX_ANSWER_BYTES = 1024 * 1024
METADATA_TTL_SECONDS = 3600
JWKS_REFRESH_MIN_SECONDS = 30
LEEWAY_SECONDS = 60
ASYMMETRIC_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_STATE_KEY = "wfo:oidc:state:"
_ERROR_CODE = re.compile(r"[^a-z0-9_.-]")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def pkce_challenge(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode()).digest())


def redirect_uri(settings: Settings) -> str:
    return (settings.wfo_oidc_redirect_base or settings.public_base_url).rstrip("/") + CALLBACK_PATH


def require_enabled(settings: Settings) -> None:
    if not settings.oidc_enabled:
        raise NotFound("single sign-on is not configured")


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class Provider:
    """The IdP's discovery document and JWKS, fetched on demand and cached (one per app)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.issuer = (settings.wfo_oidc_issuer or "").rstrip("/")
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_at = 0.0

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=httpx.Timeout(self.settings.wfo_oidc_timeout_seconds), follow_redirects=False,
                                 trust_env=False)

    def _check_url(self, url: Any, what: str) -> str:
        if not isinstance(url, str) or not url:
            raise UpstreamError(f"the identity provider's discovery document has no {what}")
        parts = urlsplit(url)
        if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
            return url
        raise UpstreamError(f"the identity provider's {what} must be an https URL")

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with self.client() as client, client.stream("GET", url, headers={"Accept": "application/json"}) as r:
                body = bytearray()
                async for chunk in r.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_ANSWER_BYTES:
                        raise UpstreamError(f"the identity provider's {what} is larger than 1 MiB")
                status = r.status_code
        except httpx.HTTPError as exc:
            raise UpstreamError(f"the identity provider is unreachable ({what}: {type(exc).__name__})") from None
        if status != 200:
            raise UpstreamError(f"the identity provider answered {status} for its {what}")
        try:
            doc = json.loads(bytes(body))
        except ValueError:
            raise UpstreamError(f"the identity provider's {what} is not JSON") from None
        if not isinstance(doc, dict):
            raise UpstreamError(f"the identity provider's {what} is not a JSON object")
        return doc

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_SECONDS:
            return self._metadata
        self._check_url(self.issuer, "issuer")
        doc = await self._get_json(self.issuer + "/.well-known/openid-configuration", "discovery document")
        if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
            raise UpstreamError("the identity provider's discovery document names another issuer")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            self._check_url(doc.get(key), key)
        self._metadata, self._metadata_at = doc, time.monotonic()
        return doc

    async def signing_key(self, kid: str | None) -> jwt.PyJWK:
        """The JWKS key `kid` names (the only one when the token names none); re-fetches the JWKS once when
        the key is unknown (key rotation at the IdP), at most every 30 s."""
        for refresh in (False, True):
            if refresh:
                if time.monotonic() - self._jwks_at < JWKS_REFRESH_MIN_SECONDS:
                    break
                self._jwks = None
            if self._jwks is None:
                doc = await self._get_json((await self.metadata())["jwks_uri"], "JWKS")
                try:
                    self._jwks = jwt.PyJWKSet.from_dict(doc)
                except jwt.PyJWTError:
                    raise UpstreamError("the identity provider's JWKS holds no usable key") from None
                self._jwks_at = time.monotonic()
            keys = [k for k in self._jwks.keys if k.public_key_use in (None, "sig")]
            match = [k for k in keys if k.key_id == kid] if kid else keys[:1] if len(keys) == 1 else []
            if match:
                return match[0]
        raise Unauthorized("ID token signed with a key the identity provider does not publish")


@dataclass
class Attempt:
    """What is known about a login attempt so far (for the audit row of a failure)."""

    actor: str | None = None
    tenant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None


@dataclass
class LoginStart:
    url: str
    browser_token: str


@dataclass
class LoginResult:
    user: User
    access_token: str
    created: bool = False
    linked: bool = False
    claims: dict[str, Any] = field(default_factory=dict)


async def begin_login(settings: Settings, provider: Provider, redis: Any) -> LoginStart:
    meta = await provider.metadata()
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    browser = secrets.token_urlsafe(32)
    record = json.dumps({"nonce": nonce, "verifier": verifier, "browser": _sha256(browser)})
    try:
        await redis.set(_STATE_KEY + _sha256(state), record, ex=STATE_TTL_SECONDS, nx=True)
    except (RedisError, OSError):
        raise Unavailable("the login state store (Redis) is unavailable") from None
    query = {
        "response_type": "code",
        "client_id": settings.wfo_oidc_client_id,
        "redirect_uri": redirect_uri(settings),
        "scope": settings.wfo_oidc_scopes,
        "state": state,
        "nonce": nonce,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    endpoint = meta["authorization_endpoint"]
    return LoginStart(url=endpoint + ("&" if "?" in endpoint else "?") + urlencode(query), browser_token=browser)


async def _take_state(redis: Any, state: str) -> dict[str, Any] | None:
    key = _STATE_KEY + _sha256(state)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            raw, _ = await pipe.get(key).delete(key).execute()
    except (RedisError, OSError):
        raise Unavailable("the login state store (Redis) is unavailable") from None
    return json.loads(raw) if raw else None


async def _exchange_code(settings: Settings, provider: Provider, code: str, verifier: str) -> dict[str, Any]:
    meta = await provider.metadata()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(settings),
            "code_verifier": verifier, "client_id": settings.wfo_oidc_client_id or ""}
    auth: httpx.BasicAuth | None = None
    if settings.wfo_oidc_client_secret:
        methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if "client_secret_basic" in methods:
            auth = httpx.BasicAuth(settings.wfo_oidc_client_id or "", settings.wfo_oidc_client_secret)
        else:
            form["client_secret"] = settings.wfo_oidc_client_secret
    try:
        async with provider.client() as client:
            r = await client.post(meta["token_endpoint"], data=form, auth=auth or httpx.USE_CLIENT_DEFAULT,
                                  headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the identity provider is unreachable (token endpoint: {type(exc).__name__})") from None
    try:
        body = r.json() if len(r.content) <= MAX_ANSWER_BYTES else None
    except ValueError:
        body = None
    if r.status_code == 200 and isinstance(body, dict) and isinstance(body.get("id_token"), str):
        return body
    if 400 <= r.status_code < 500 and isinstance(body, dict) and isinstance(body.get("error"), str):
        # e.g. invalid_grant (code used twice, PKCE verifier mismatch), invalid_client (client secret)
        raise Unauthorized(f"the identity provider refused the code: {_ERROR_CODE.sub('', body['error'][:64])}")
    if r.status_code == 200:
        raise UpstreamError("the identity provider's token answer has no ID token")
    raise UpstreamError(f"the identity provider's token endpoint answered {r.status_code}")


_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC"}  # EdDSA: OKP
_AT_HASH = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


async def validate_id_token(settings: Settings, provider: Provider, id_token: str, *, nonce: str,
                            access_token: str | None) -> dict[str, Any]:
    meta = await provider.metadata()
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise Unauthorized("ID token is not a JWT") from None
    alg = header.get("alg")
    allowed = [a for a in (meta.get("id_token_signing_alg_values_supported") or ["RS256"]) if a in ASYMMETRIC_ALGS]
    if alg not in allowed:
        raise Unauthorized(f"ID token algorithm {str(alg)[:16]!r} is not accepted (accepted: {allowed})")
    key = await provider.signing_key(header.get("kid"))
    if key.key_type != _KEY_TYPE.get(str(alg)[:2], "OKP"):
        raise Unauthorized(f"ID token algorithm {alg} does not fit its key ({key.key_type})")
    try:
        claims = jwt.decode(id_token, key.key, algorithms=[alg], audience=settings.wfo_oidc_client_id,
                            issuer=provider.issuer, leeway=LEEWAY_SECONDS,
                            options={"require": ["iss", "aud", "sub", "exp", "iat"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("ID token has expired") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("ID token signature is invalid") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("ID token is not issued for this client (aud)") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("ID token is issued by another issuer (iss)") from None
    except jwt.ImmatureSignatureError:
        raise Unauthorized("ID token is not valid yet (iat/nbf)") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"ID token lacks the {exc.claim!r} claim") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise Unauthorized("ID token is invalid") from None
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != settings.wfo_oidc_client_id:
        raise Unauthorized("ID token is not issued for this client (azp)")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"].encode(), nonce.encode()):
        raise Unauthorized("ID token nonce does not match this login")
    if access_token and isinstance(claims.get("at_hash"), str):
        digest = _AT_HASH.get(str(alg)[-3:], hashlib.sha256)(access_token.encode()).digest()
        if not hmac.compare_digest(_b64url(digest[: len(digest) // 2]).encode(), claims["at_hash"].encode()):
            raise Unauthorized("ID token at_hash does not match the access token")
    if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
        raise Unauthorized("ID token subject (sub) is not a string of at most 255 characters")
    return claims


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name; a dotted name walks nested objects (`realm_access.roles`) unless the flat name exists."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def map_role(settings: Settings, claims: dict[str, Any]) -> str:
    raw = claim(claims, settings.wfo_oidc_roles_claim)
    values = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)] if isinstance(raw, list) else []
    roles = [settings.wfo_oidc_role_mapping[v] for v in values if v in settings.wfo_oidc_role_mapping]
    if roles:
        return max(roles, key=lambda r: ROLE_RANK.get(r, -1))  # Role is a StrEnum: str keys match
    if settings.wfo_oidc_default_role:
        return settings.wfo_oidc_default_role
    raise Forbidden(f"no role is mapped for this identity (claim {settings.wfo_oidc_roles_claim!r}); "
                    "ask an administrator to grant access")


async def _tenant(session: AsyncSession, settings: Settings, claims: dict[str, Any]) -> Tenant:
    name = claim(claims, settings.wfo_oidc_tenant_claim) if settings.wfo_oidc_tenant_claim else None
    if not isinstance(name, str) or not name:
        name = settings.wfo_oidc_tenant
    if not name:
        raise Forbidden("no tenant to provision single sign-on users into (WFO_OIDC_TENANT)")
    tenant = None
    try:
        tenant = await session.get(Tenant, uuid.UUID(name))
    except ValueError:
        pass
    if tenant is None and len(name) <= 255:
        tenant = (await session.exec(select(Tenant).where(Tenant.name == name))).first()
    if tenant is None:
        raise Forbidden(f"tenant {name[:64]!r} does not exist")
    return tenant


async def _find_or_provision(session: AsyncSession, settings: Settings, provider: Provider,
                             claims: dict[str, Any], role: str, attempt: Attempt) -> tuple[User, bool, bool]:
    """(user, created, linked). Role changes at the IdP apply here, at each login."""
    subject = claims["sub"]
    email = claims.get("email")
    email = email.strip().lower() if isinstance(email, str) and "\x00" not in email else None
    attempt.actor = email or f"oidc:{subject[:64]}"
    identity = (await session.exec(select(UserIdentity).where(
        UserIdentity.issuer == provider.issuer, UserIdentity.subject == subject))).first()
    created = linked = False
    if identity is not None:
        user = await session.get(User, identity.user_id)
        if user is None:  # cascade makes this impossible; refuse rather than guess
            raise Forbidden("the account linked to this identity no longer exists")
    else:
        tenant = await _tenant(session, settings, claims)
        attempt.tenant_id = tenant.id
        if not email or len(email) > 320:
            raise Forbidden("the identity provider sent no usable email claim (scope 'email')")
        existing = (await session.exec(select(User).where(User.tenant_id == tenant.id, User.email == email))).first()
        if existing is not None:
            if not (settings.wfo_oidc_link_verified_email and claims.get("email_verified") is True):
                raise Conflict("a user with this email already exists in the tenant and is not linked to this "
                               "identity; an administrator must link it (WFO_OIDC_LINK_VERIFIED_EMAIL)")
            user, linked = existing, True
        elif not settings.wfo_oidc_create_users:
            raise Forbidden("no account is linked to this identity and automatic provisioning is off")
        else:
            name = claims.get("name")
            user = User(tenant_id=tenant.id, email=email, hashed_password=UNUSABLE_PASSWORD, role=role,
                        full_name=name[:255] if isinstance(name, str) else None)
            session.add(user)
            await session.flush()
            created = True
        identity = UserIdentity(user_id=user.id, issuer=provider.issuer, subject=subject)
    attempt.tenant_id, attempt.user_id, attempt.actor = user.tenant_id, user.id, user.email
    if not user.is_active:
        raise Forbidden("user is disabled")
    user.role = role
    identity.last_login_at = utcnow()
    session.add(user)
    session.add(identity)
    try:
        await session.commit()
    except IntegrityError:  # a concurrent first login of the same identity or email
        await session.rollback()
        raise Conflict("this identity is being provisioned by another login; try again") from None
    await session.refresh(user)
    return user, created, linked


async def complete_login(settings: Settings, provider: Provider, redis: Any, session: AsyncSession, *,
                         state: str | None, code: str | None, error: str | None, browser_token: str | None,
                         attempt: Attempt) -> LoginResult:
    if error:
        raise Unauthorized(f"the identity provider refused the login: {_ERROR_CODE.sub('', error.lower()[:64])}")
    if not state or not code:
        raise MalformedRequest("the callback lacks its 'state' or 'code' query parameter")
    if len(state) > 512 or len(code) > 4096:
        raise MalformedRequest("the callback's 'state' or 'code' is too long")
    record = await _take_state(redis, state)
    if record is None:
        raise MalformedRequest("unknown, expired or already used login state; start the login again")
    if not browser_token or not hmac.compare_digest(_sha256(browser_token), record["browser"]):
        raise MalformedRequest("this login was started in another browser (state cookie missing or different)")
    tokens = await _exchange_code(settings, provider, code, record["verifier"])
    access = tokens.get("access_token")
    claims = await validate_id_token(settings, provider, tokens["id_token"], nonce=record["nonce"],
                                     access_token=access if isinstance(access, str) else None)
    email = claims.get("email")
    attempt.actor = email.strip().lower() if isinstance(email, str) else f"oidc:{claims['sub'][:64]}"
    role = map_role(settings, claims)
    user, created, linked = await _find_or_provision(session, settings, provider, claims, role, attempt)
    token = security.create_access_token(settings, user_id=user.id, tenant_id=user.tenant_id, role=user.role)
    log.info("sso login of user %s (tenant %s, role %s%s)", user.id, user.tenant_id, user.role,
             ", provisioned" if created else ", linked by verified email" if linked else "")
    return LoginResult(user=user, access_token=token, created=created, linked=linked, claims=claims)
