"""Issue 10 (build): security headers on the API and its pages; no CORS for unconfigured origins."""

from __future__ import annotations


async def test_every_response_carries_the_security_headers(http, tenant_a):
    for path, headers in [("/health", {}), ("/api/v1/workflows", tenant_a.h("viewer")), ("/api/v1/nope", {}),
                          ("/api/v1/tasks/x/act?token=a.b", {})]:
        r = await http.get(path, headers=headers)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in \
            csp.split("script-src", 1)[1].split(";", 1)[0], csp
        assert "strict-transport-security" not in r.headers  # plain http: no HSTS


async def test_hsts_only_behind_tls(http):
    r = await http.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_docs_pages_keep_working_without_the_strict_csp(http):
    r = await http.get("/api/v1/docs")
    assert r.status_code == 200 and "content-security-policy" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_no_cors_for_unconfigured_origins(http, tenant_a):
    r = await http.get("/api/v1/workflows", headers={**tenant_a.h("viewer"), "Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in r.headers
    r = await http.options("/api/v1/workflows", headers={"Origin": "http://evil.test",
                                                          "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers


async def test_web_app_csp_allows_eval_for_its_schema_forms_but_no_inline_scripts(http):
    r = await http.get("/workflow_orchestration/")
    csp = r.headers["content-security-policy"]
    script_src = csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "'self'" in script_src and "'unsafe-eval'" in script_src and "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in csp
    api = await http.get("/health")
    assert "unsafe-eval" not in api.headers["content-security-policy"]  # the API keeps the strict one
