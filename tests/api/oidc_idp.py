"""A small OpenID Connect provider for the SSO tests, served by uvicorn on 127.0.0.1:<free port> in a thread.

Discovery, JWKS (an RSA key generated here), an authorize endpoint that auto-approves `idp.user` (redirects
back with a one-time code bound to the PKCE challenge, nonce and redirect URI), and a token endpoint that
checks client authentication, the code, the redirect URI and the PKCE verifier (S256), then signs an ID
token. Knobs to misbehave: `overrides` (claims of the next ID tokens), `sign_with` (another private key: a
bad signature), `sign_hs256` (HMAC with the client secret), `kid`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from tests.localpeers import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TestIdP:
    __test__ = False  # not a pytest class

    def __init__(self, *, client_id: str = "wfo-test", client_secret: str | None = "idp-client-s3cret-0123456789abcdef") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = new_key()
        self.kid = "test-key-1"
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.user: dict[str, Any] = {"sub": "u-1", "email": "sso-user@example.test", "email_verified": True,
                                     "name": "SSO User", "groups": ["wfo-viewers"]}
        self.overrides: dict[str, Any] = {}
        self.sign_with: rsa.RSAPrivateKey | None = None
        self.sign_hs256 = False  # sign with the client secret (HS256): the algorithm-confusion attack
        self.codes: dict[str, dict[str, Any]] = {}
        self.issued: list[str] = []  # every code, ID token and access token handed out (for log greps)
        self.token_calls = 0
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
        ])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle
    def start(self) -> "TestIdP":
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="test-idp", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("test IdP did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- endpoints
    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        })

    async def jwks(self, request: Request) -> JSONResponse:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]})

    async def authorize(self, request: Request):
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE S256 required"}, 400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"redirect_uri": q["redirect_uri"], "challenge": q["code_challenge"],
                            "nonce": q.get("nonce"), "user": dict(self.user)}
        self.issued.append(code)
        return RedirectResponse(q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")}),
                                status_code=302)

    def _client_ok(self, request: Request, form) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret")
        if cid != self.client_id:
            return False
        return self.client_secret is None or secrets.compare_digest(secret or "", self.client_secret)

    async def token(self, request: Request) -> JSONResponse:
        self.token_calls += 1
        form = await request.form()
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        grant = self.codes.pop(str(form.get("code", "")), None)  # one-time
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verifier mismatch"}, 400)
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], "at_hash": b64url(hashlib.sha256(access_token.encode()).digest()[:16]),
                  **grant["user"], **self.overrides}
        claims = {k: v for k, v in claims.items() if v is not None}
        if self.sign_hs256:
            id_token = jwt.encode(claims, self.client_secret or "x" * 32, algorithm="HS256", headers={"kid": self.kid})
        else:
            id_token = jwt.encode(claims, self.sign_with or self.key, algorithm="RS256", headers={"kid": self.kid})
        self.issued += [id_token, access_token]
        return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                             "id_token": id_token})
