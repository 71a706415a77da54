"""Search attribute keys set on every execution (the Temporal UI filters on them). Pure declarations.

Registered on the server by ``wfo.temporal.ensure_search_attributes`` / ``dev_server_cli_args``.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

SA_WORKFLOW_ID = SearchAttributeKey.for_keyword("WfoWorkflowId")
SA_VERSION = SearchAttributeKey.for_int("WfoWorkflowVersion")
SA_TRIGGER = SearchAttributeKey.for_keyword("WfoTrigger")
SA_TENANT = SearchAttributeKey.for_keyword("WfoTenant")
SEARCH_ATTRIBUTES = (SA_WORKFLOW_ID, SA_VERSION, SA_TRIGGER, SA_TENANT)
