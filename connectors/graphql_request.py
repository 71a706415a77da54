"""`graphql.request`: one GraphQL operation over HTTP POST, with the auth credentials of `http.request`.

The answer's `errors` fail the node (not retried: the same document would fail again) unless
`allow_errors` is set, in which case partial `data` and `errors` are both output. Transport failures and
retryable HTTP statuses behave as in `http.request` (the same SSRF guard, Idempotency-Key and auth).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from connectors.base import ComponentError, NodeContext
from connectors.common import credential_field, validate_config
from connectors.http import AUTH_TYPES, HttpRequest
from workflows.components import ComponentSpec


class GraphqlRequest:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "graphql.request", "activity",
        "Sends a GraphQL query or mutation; outputs {data, errors}.",
        {
            "type": "object",
            "required": ["url", "query"],
            "properties": {
                "url": {"type": "string", "minLength": 1, "title": "Endpoint URL"},
                "query": {"type": "string", "minLength": 1, "title": "Document (query or mutation)"},
                "variables": {"type": "object", "title": "Variables"},
                "operation_name": {"type": "string", "minLength": 1},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "credential": credential_field(*AUTH_TYPES),
                "allow_errors": {"type": "boolean", "default": False,
                                 "description": "output partial data with `errors` instead of failing"},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0},
            },
            "additionalProperties": False,
        },
        category="integration", title="GraphQL request", icon="share-2",
        output_schema={"type": "object", "required": ["data"], "properties": {
            "data": {"type": ["object", "null"]}, "errors": {"type": "array"}, "status": {"type": "integer"}}},
        idempotent=False,
        docs="Queries are idempotent, mutations usually are not; the `Idempotency-Key` header (stable across "
             "retries) lets a server deduplicate mutations. GraphQL `errors` fail the node with their messages.",
        example={"url": "https://api.example.com/graphql", "credential": "api",
                 "query": "query($id: ID!) { order(id: $id) { id total } }", "variables": {"id": "{{ input.id }}"}},
    )

    def __init__(self) -> None:
        self._http = HttpRequest()

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        body: dict[str, Any] = {"query": config["query"], "variables": config.get("variables") or {}}
        if config.get("operation_name"):
            body["operationName"] = config["operation_name"]
        http_config: dict[str, Any] = {
            "method": "POST", "url": config["url"], "json": body,
            "headers": {"Accept": "application/json", **(config.get("headers") or {})},
            "follow_redirects": False,
        }
        for key in ("credential", "timeout_seconds"):
            if config.get(key) is not None:
                http_config[key] = config[key]
        try:
            result = await self._http.run(http_config, ctx)
        except ComponentError as err:
            errors = _errors(err.details.get("body")) if isinstance(err.details, dict) else None
            if errors:  # a GraphQL server answering 4xx/5xx with an errors document
                err.message += ": " + "; ".join(errors)
            raise
        answer = result["body"]
        if not isinstance(answer, dict) or ("data" not in answer and "errors" not in answer):
            raise ComponentError(f"graphql.request: {config['url']} did not answer a GraphQL response "
                                 f"(status {result['status']})", retryable=False, type="GraphQLProtocolError")
        errors = answer.get("errors") or []
        if errors and not config.get("allow_errors"):
            messages = _errors(answer) or ["(no message)"]
            raise ComponentError("graphql.request: " + "; ".join(messages)[:1000], retryable=False,
                                 type="GraphQLError", details={"errors": errors[:20]})
        return {"data": answer.get("data"), "errors": errors, "status": result["status"]}


def _errors(answer: Any) -> list[str]:
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError:
            return []
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(e.get("message")) if isinstance(e, dict) else str(e) for e in errors[:10]]
