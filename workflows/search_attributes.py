"""Search attribute keys set on every execution (the Temporal UI filters on them). Pure declarations.

Registered on the server by ``wfo.temporal.ensure_search_attributes`` / ``dev_server_cli_args``.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

SA_WORKFLOW_ID = SearchAttributeKey.for_keyword("WfoWorkflowId")
SA_VERSION = SearchAttributeKey.for_int("WfoWorkflowVersion")
SA_TRIGGER = SearchAttributeKey.for_keyword("WfoTrigger")
SA_TENANT = SearchAttributeKey.for_keyword("WfoTenant")
SEARCH_ATTRIBUTES = (SA_WORKFLOW_ID, SA_VERSION, SA_TRIGGER, SA_TENANT)


def execution_search_attributes(trigger: str, workflow_id: Any = None, version: int | None = None,
                                tenant_id: Any = None, *, fill: bool = False) -> TypedSearchAttributes:
    """THE place that builds an execution's search attributes (API/hook/CLI starts, schedule fires,
    the schedule action). Unknown values are left out, or with ``fill`` set to ``""``/``0`` (what
    ``ScheduledTrigger`` has always sent for its child)."""
    pairs: list[SearchAttributePair] = [SearchAttributePair(SA_TRIGGER, trigger)]
    if workflow_id is not None or fill:
        pairs.append(SearchAttributePair(SA_WORKFLOW_ID, str(workflow_id or "")))
    if version is not None or fill:
        pairs.append(SearchAttributePair(SA_VERSION, int(version or 0)))
    if tenant_id is not None or fill:
        pairs.append(SearchAttributePair(SA_TENANT, str(tenant_id or "")))
    return TypedSearchAttributes(pairs)
