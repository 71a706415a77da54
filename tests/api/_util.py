"""Helpers shared by the API tests."""

from __future__ import annotations

import asyncio


async def wait_status(http, tenant, exec_id, statuses=("completed", "failed", "cancelled"), timeout=20.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await http.get(f"/api/v1/executions/{exec_id}", headers=tenant.h("viewer"))
        assert r.status_code == 200, r.text
        if r.json()["status"] in statuses:
            return r.json()
        assert asyncio.get_running_loop().time() < deadline, r.json()
        await asyncio.sleep(0.2)


