"""End-to-end fixtures: the real stack (Temporal dev server, a migrated Postgres database, the API in
its own uvicorn process serving the built web app, a worker process) and Debian's Chromium driven by
Playwright. The web app is built first when ``designer/dist`` is missing or older than its sources.

Screenshots go to ``.artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.api.oidc_idp import TestIdP

ROOT = Path(__file__).resolve().parents[2]
DESIGNER = ROOT / "designer"
SHOTS = ROOT / ".artifacts" / "screenshots"
CHROMIUM = os.environ.get("WFO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@e2e.test", "e2e-admin-password"
VIEWER_EMAIL, VIEWER_PASSWORD = "viewer@e2e.test", "e2e-viewer-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for p in paths:
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def ensure_built() -> None:
    """`npm ci` (once, from the lockfile) and `npm run build` when dist is missing or stale."""
    index = DESIGNER / "dist" / "index.html"
    sources = [DESIGNER / "src", DESIGNER / "index.html", DESIGNER / "package-lock.json", DESIGNER / "vite.config.ts"]
    if index.is_file() and index.stat().st_mtime >= _newest_mtime(sources):
        return
    npm = shutil.which("npm")
    assert npm, "Node.js 20+ and npm are needed to build the web app for the e2e tests (designer/)"
    if not (DESIGNER / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=DESIGNER, check=True)
    subprocess.run([npm, "run", "build"], cwd=DESIGNER, check=True)


def _cli_module() -> str:
    return "cli.main" if (ROOT / "cli" / "main.py").is_file() else "wfo.cli"


@dataclass
class Stack:
    base_url: str
    admin_token: str
    viewer_token: str
    procs: list[subprocess.Popen] = field(default_factory=list)
    idp: Any = None  # tests.api.oidc_idp.TestIdP: single sign-on is configured against it

    @property
    def app_url(self) -> str:
        return self.base_url + "/workflow_orchestration"

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url + "/api/v1", timeout=30,
                            headers={"Authorization": f"Bearer {token or self.admin_token}"})


async def _create_users(settings) -> str:
    from api import security
    from wfo.db import create_engine, create_sessionmaker
    from wfo.models import Role, Tenant, User

    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as s:
            tenant = Tenant(name=f"e2e-{uuid.uuid4().hex[:6]}")
            s.add(tenant)
            await s.flush()
            s.add(User(tenant_id=tenant.id, email=ADMIN_EMAIL, role=Role.admin.value, full_name="Ada Admin",
                       hashed_password=security.hash_password(ADMIN_PASSWORD)))
            s.add(User(tenant_id=tenant.id, email=VIEWER_EMAIL, role=Role.viewer.value, full_name="Vic Viewer",
                       hashed_password=security.hash_password(VIEWER_PASSWORD)))
            await s.commit()
            return tenant.name
    finally:
        await engine.dispose()


def _wait_http(url: str, procs: list[subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            assert p.poll() is None, f"a stack process exited early ({p.args})"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def _token(base: str, email: str, password: str) -> str:
    r = httpx.post(base + "/api/v1/auth/token", data={"username": email, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest_asyncio.fixture(scope="session")
async def e2e_stack(temporal_env, database_url):
    from wfo.settings import Settings

    ensure_built()
    SHOTS.mkdir(parents=True, exist_ok=True)
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    redis_url = os.environ.get("WFO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = Settings(environment="test", database_url=database_url, redis_url=redis_url,
                        temporal_address=temporal_env.client.service_client.config.target_host,
                        temporal_task_queue=queue)
    tenant_name = await _create_users(settings)
    port = free_port()
    idp = TestIdP().start()  # single sign-on against a local IdP (tests/api/oidc_idp.py)
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "TEMPORAL_ADDRESS": settings.temporal_address, "TEMPORAL_TASK_QUEUE": queue,
           "TEMPORAL_UI_URL": "http://127.0.0.1:8233", "PYTHONPATH": str(ROOT),
           "WFO_OIDC_ISSUER": idp.issuer, "WFO_OIDC_CLIENT_ID": idp.client_id,
           "WFO_OIDC_CLIENT_SECRET": idp.client_secret or "", "WFO_OIDC_REDIRECT_BASE": f"http://127.0.0.1:{port}",
           "WFO_OIDC_ROLE_MAPPING": '{"wfo-devs": "developer", "wfo-viewers": "viewer"}',
           "WFO_OIDC_TENANT": tenant_name}
    procs = [
        subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--host", "127.0.0.1",
                          "--port", str(port), "--log-level", "warning", "--no-access-log"], env=env, cwd=ROOT),
        subprocess.Popen([sys.executable, "-m", _cli_module(), "worker"], env=env, cwd=ROOT),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(base + "/health", procs)
        stack = Stack(base_url=base, admin_token=_token(base, ADMIN_EMAIL, ADMIN_PASSWORD),
                      viewer_token=_token(base, VIEWER_EMAIL, VIEWER_PASSWORD), procs=procs, idp=idp)
        yield stack
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        idp.stop()


@pytest.fixture(scope="session")
def browser(e2e_stack):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def new_context(browser, stack: Stack, token: str | None = None, **kwargs):
    """A browser context; with `token`, already logged in (the token the app keeps in localStorage)."""
    ctx = browser.new_context(viewport=kwargs.pop("viewport", {"width": 1440, "height": 900}), **kwargs)
    ctx.set_default_timeout(15000)
    if token:
        ctx.add_init_script(f"window.localStorage.setItem('wfo.token', {token!r});")
    return ctx


def shot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
