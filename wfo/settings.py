"""One settings object for the API, the worker and the CLI, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-insecure-secret-change-me"
_ROLES = ("admin", "developer", "operator", "viewer")  # wfo.models.Role (checked by tests/unit/test_sso_settings.py)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["dev", "test", "production"] = "dev"
    """`dev` and `test` accept the default secrets; anything else refuses to start with them."""

    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    """Plain libpq/asyncpg URL (``postgresql://user:pw@host:port/db``)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "wfo"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    temporal_tls: bool = False
    """Connect to Temporal over TLS (e.g. Temporal Cloud or an mTLS cluster)."""
    temporal_tls_cert: str | None = None
    """Path of the client certificate (PEM) for mTLS."""
    temporal_tls_key: str | None = None
    """Path of the client private key (PEM) for mTLS."""
    temporal_api_key: str | None = None
    """API key for Temporal Cloud (sent as a bearer token; implies TLS)."""
    worker_metrics_port: int | None = None
    """Serve the Temporal SDK's Prometheus metrics of `wfo worker` on this port (e.g. 9464)."""
    log_format: Literal["text", "json"] = "text"
    """`json`: one JSON object per line, with execution id, node id and trace id where known (`wfo.logs`)."""
    log_level: str = "INFO"
    otel_traces_exporter: Literal["off", "none", "console", "otlp"] = "off"
    """Where OpenTelemetry spans (API requests, workflows, activities, outbound HTTP) go; `otlp` sends them
    to `OTEL_EXPORTER_OTLP_ENDPOINT`."""
    worker_shutdown_grace_seconds: float = 30.0
    """On SIGTERM a worker stops polling and lets running activities finish for this long."""
    secret_key: str = DEFAULT_SECRET_KEY
    """Signs JWTs and approval links."""
    credentials_keys: str | None = None
    """Keys of the credentials vault: ``kid1:<base64 32 bytes>,kid2:...``; the first encrypts, all decrypt.
    Unset in dev/test: one key derived from SECRET_KEY (with a warning); required in production."""

    alerts_interval_seconds: float = 60.0
    """How often the alert scheduler (started by `wfo worker`) evaluates every alert rule; 0 turns it off."""
    payload_codec_keys: str | None = None
    """Encrypt Temporal payloads (AES-GCM): `key-id:base64-32-bytes[,older-id:...]`, the first encrypts
    (wfo.codec). Unset: payloads are plain JSON in Temporal."""
    codec_cors_origins: list[str] = []
    """Origins (besides `temporal_ui_url`'s) allowed to call the codec endpoint from a browser."""
    session_timeout_hours: float = 8.0
    """Lifetime of a login's access token (JWT `exp`)."""
    max_login_attempts: int = 5
    """Failed logins of one account before it is locked for `login_lockout_seconds` (429 + Retry-After)."""
    max_login_attempts_per_address: int = 20
    """Failed logins, or failed API keys, from one client address before that address is locked."""
    login_lockout_seconds: int = 900
    """How long failures are counted from the first one, and how long a lock lasts at most."""

    audit_retention_days: float = 365.0
    """Audit rows older than this are deleted by the API's periodic prune (`wfo audit prune` does it by hand);
    0 keeps them forever."""
    audit_prune_interval_seconds: float = 3600.0
    """How often each API process runs that prune (the first run at start-up)."""

    worker_max_concurrent_activities: int = 100
    """Activities one worker process runs at once (`wfo worker --max-activities`)."""
    worker_max_concurrent_workflow_tasks: int = 100
    """Workflow tasks one worker process runs at once (`wfo worker --max-workflow-tasks`)."""
    worker_max_cached_workflows: int = 1000
    """Sticky cache: executions kept in memory between their workflow tasks. It bounds the worker's RSS
    (each cached interpreter holds its definition and state); an evicted execution is replayed from
    history on its next task, which costs CPU, not correctness (`wfo worker --max-cached-workflows`)."""
    worker_sandboxed: bool = True
    """Run workflow code in Temporal's sandbox (the default). `false` (`wfo worker --unsandboxed`) runs the
    interpreter directly: less CPU per workflow task (no per-execution module sandbox, no sandbox entry per
    payload), at the price of the sandbox's guard against non-deterministic calls (time, random, I/O) in
    workflow code. The interpreter only makes deterministic calls and `tests/engine/test_replay.py` checks
    it; plugins' pure components run inside workflow code too, so keep the sandbox when they are untrusted."""
    api_workers: int = 1
    """uvicorn worker processes of `wfo api` (`--workers`); the API is stateless, so any number works."""
    api_embedded_worker: bool = False
    """`wfo api` also runs a workflow worker (workflow tasks and the interpreter's local activities, no
    components) on its own Temporal client: sync webhooks start eagerly and are answered in-process, with no
    history long poll. `wfo dev` turns it on. Off: the API only starts executions; `wfo worker`s run them."""
    api_db_pool_size: int = 20
    """Connections each API process keeps for its hot paths (webhook intake, execution index rows): requests
    beyond it wait for a free one instead of opening and closing connections."""

    payload_threshold_bytes: int = 256 * 1024
    """Node inputs/outputs larger than this are kept out of Temporal history (stored by reference)."""

    api_host: str = "127.0.0.1"
    api_port: int = 5000
    max_request_bytes: int = 1024 * 1024
    """Request bodies above this are refused with 413."""

    http_allow_private_networks: bool = False
    """Allow outbound HTTP components / webhooks to loopback and private addresses."""
    outbound_allowlist: list[str] = []
    """Hosts or CIDRs admitted even though they are private/loopback (e.g. ``127.0.0.1``)."""

    files_root: str | None = None
    """Folder the `file` component may use (each tenant gets its own subfolder); unset: `file` is refused."""

    public_base_url: str = "http://127.0.0.1:5000"
    """The API's address as people reach it (links in approval emails)."""

    # --- OpenID Connect single sign-on (api.services.oidc, docs/sso.md); off unless WFO_OIDC_ISSUER is set
    wfo_oidc_issuer: str | None = None
    """The IdP's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`). Unset: SSO is off."""
    wfo_oidc_client_id: str | None = None
    wfo_oidc_client_secret: str | None = None
    """Confidential clients only; a public client uses PKCE alone."""
    wfo_oidc_scopes: str = "openid email profile"
    wfo_oidc_redirect_base: str | None = None
    """Base URL of the API as the browser reaches it (the redirect URI is `<base>/api/v1/auth/oidc/callback`);
    unset: `public_base_url`."""
    wfo_oidc_roles_claim: str = "groups"
    """ID-token claim carrying groups/roles (a string or a list; dotted for nested: `realm_access.roles`)."""
    wfo_oidc_role_mapping: dict[str, str] = {}
    """Claim value -> project role (JSON: `{"wfo-admins": "admin", "staff": "viewer"}`); the highest wins."""
    wfo_oidc_default_role: str | None = None
    """Role when no mapping matches; unset: such a login is refused (403)."""
    wfo_oidc_tenant: str | None = None
    """Tenant (name or id) SSO users are provisioned into."""
    wfo_oidc_tenant_claim: str | None = None
    """Claim naming the tenant (name or id) instead; it wins over `WFO_OIDC_TENANT` when present."""
    wfo_oidc_create_users: bool = True
    """Just-in-time provisioning: create a user on first SSO login; off: only already-linked identities."""
    wfo_oidc_link_verified_email: bool = False
    """Link a first SSO login to an existing password user of the tenant with the same email, if the IdP
    says `email_verified: true`. Off: such a login is refused (409), an admin must decide."""
    wfo_oidc_timeout_seconds: float = 10.0
    """Timeout of each call to the IdP (discovery, JWKS, token)."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "wfo@localhost"

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> "Settings":
        if self.environment not in ("dev", "test") and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(
                "SECRET_KEY is the built-in development default; set a real secret "
                "(ENVIRONMENT=%s)" % self.environment
            )
        default_role = [self.wfo_oidc_default_role] if self.wfo_oidc_default_role else []
        named = [*self.wfo_oidc_role_mapping.values(), *default_role]
        bad = sorted({r for r in named if r not in _ROLES})
        if bad:
            raise ValueError(f"WFO_OIDC_ROLE_MAPPING / WFO_OIDC_DEFAULT_ROLE name unknown roles {bad}; "
                             f"roles are {list(_ROLES)}")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.wfo_oidc_issuer and self.wfo_oidc_client_id)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in SQLAlchemy's async form."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix):]
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
