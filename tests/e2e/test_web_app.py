"""The web app in a real browser (Debian's Chromium) against the real stack: API + worker + Temporal +
Postgres. Each test drives the UI the way a workflow designer would."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, new_context, shot


def test_login_and_dashboard(browser, e2e_stack):
    ctx = new_context(browser, e2e_stack)
    page = ctx.new_page()
    page.goto(e2e_stack.base_url + "/")  # / redirects to the app, which asks to log in
    expect(page).to_have_url(re.compile(r"/workflow_orchestration/login$"))
    page.get_by_test_id("login-email").fill(ADMIN_EMAIL)
    page.get_by_test_id("login-password").fill("wrong-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    page.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    expect(page.get_by_test_id("current-role")).to_have_text("admin")
    expect(page.get_by_test_id("count-running")).to_be_visible()
    expect(page.get_by_test_id("chart")).to_be_visible()
    shot(page, "dashboard")
    ctx.close()
