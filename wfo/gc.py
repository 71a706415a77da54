"""Collect stored payloads (large node outputs and inputs) that no execution can read any more.

A payload is kept while its execution may still need it: it is deleted once it is older than the retention
*and* its root execution (children's ids start with their root's, `exec-…/node/seq/i`) is not a running
execution in the index. Payloads of executions the index does not know (CLI runs) go by age alone, so pick
a retention longer than your longest run.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

_DELETE = """
DELETE FROM payloads p
WHERE p.created_at < now() - $1::interval
  AND NOT EXISTS (
      SELECT 1 FROM executions e
      WHERE e.id = split_part(p.execution_id, '/', 1) AND e.status = 'running')
"""


async def collect_payloads(database_url: str, retention: timedelta) -> int:
    """Delete collectable payloads; returns how many."""
    conn = await asyncpg.connect(database_url)
    try:
        status = await conn.execute(_DELETE, retention)
    finally:
        await conn.close()
    return int(status.rsplit(" ", 1)[-1])
