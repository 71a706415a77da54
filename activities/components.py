"""Component activities: each connector runs as an activity named after its component type."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.services import SecretNotFound, Services
from connectors.base import ComponentError, Connector, NodeContext
from wfo.stores.payloads import offload_if_large, resolve_context
from workflows.definition import Node
from workflows.engine import NodeFailure, compute_pure
from workflows.expressions import DEFAULT_MAX_ITEMS, EvalEnv, ExpressionError, render
from workflows.types import (
    CHECKPOINT_ACTIVITY,
    EVALUATE_ACTIVITY,
    LOAD_DEFINITION_ACTIVITY,
    ComponentRequest,
    ComponentResult,
    LoadDefinitionRequest,
    LoadDefinitionResult,
)

log = logging.getLogger(__name__)


def _redact(text: str, secrets: list[str]) -> str:
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):  # longest first: no partial leftovers
        text = text.replace(s, "***")
    return text


def scrub(value: Any, secrets: list[str]) -> Any:
    """`value` with every occurrence of a secret value (in strings and keys) replaced by ``***``."""
    if not secrets:
        return value
    if isinstance(value, str):
        return _redact(value, secrets)
    if isinstance(value, dict):
        return {(_redact(k, secrets) if isinstance(k, str) else k): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, secrets) for v in value]
    return value


def _app_error(message: str, type_: str, retryable: bool, attempt: int, details: dict | None = None,
               secrets: list[str] | None = None) -> ApplicationError:
    message = _redact(message, secrets or [])
    payload = {"attempt": attempt}
    if details:
        payload.update(json.loads(_redact(json.dumps(details, default=str), secrets or [])))
    return ApplicationError(message, payload, type=type_, non_retryable=not retryable)


ACTIVITY_MAX_ITEMS = 10 * DEFAULT_MAX_ITEMS


class ComponentActivities:
    """Activities for every connector plus the engine's helpers; clients injected through `Services`."""

    def __init__(self, services: Services, connectors: list[Connector]):
        self.services = services
        self.connectors = connectors

    def _env(self, req: ComponentRequest) -> EvalEnv:
        rng = random.Random(req.seed)
        # outside the workflow sandbox and its deadlock detector, on payloads too large for history: ten times
        # the work budget (string and nesting limits unchanged)
        return EvalEnv(now_millis=req.now_millis, random=rng.random, max_items=ACTIVITY_MAX_ITEMS)

    async def _context(self, render_context: dict[str, Any], req: ComponentRequest) -> dict[str, Any]:
        """The render context with stored payloads loaded: only this tenant's and execution tree's."""
        try:
            return await resolve_context(render_context, self.services.payloads, req.tenant_id, req.execution_id)
        except KeyError as err:
            raise _app_error(str(err.args[0]) if err.args else "stored payload not found", "PayloadNotFound",
                             False, activity.info().attempt) from None

    async def _config(self, req: ComponentRequest) -> tuple[Any, dict[str, Any] | None]:
        """The rendered config and the context it was rendered in (stored payloads resolved), if any."""
        if req.render_context is None:
            return req.config, None
        ctx = await self._context(req.render_context, req)
        return render(req.config, ctx, self._env(req), tuple(req.skip_fields)), ctx

    def _make(self, connector: Connector) -> Callable:
        spec = connector.spec

        @activity.defn(name=spec.type)
        async def run_component(req: ComponentRequest) -> ComponentResult:
            meter = activity.metric_meter()  # exported with the SDK's metrics (WORKER_METRICS_PORT)
            runs = meter.create_counter("wfo_node_runs", "component activity attempts by outcome")
            try:
                result = await _run(req)
            except ApplicationError as err:
                runs.add(1, {"component": spec.type, "outcome": "failed" if err.non_retryable else "retryable"})
                raise
            runs.add(1, {"component": spec.type, "outcome": "completed"})
            return result

        async def _run(req: ComponentRequest) -> ComponentResult:
            info = activity.info()
            ctx = NodeContext(
                execution_id=req.execution_id, node_id=req.node_id, attempt=info.attempt,
                idempotency_key=req.idempotency_key, tenant_id=req.tenant_id, workflow_id=req.workflow_id,
                services=self.services, credentials=self.services.credentials,
            )
            secrets = ctx.secret_values  # env secrets and credential values: nothing leaves with them
            try:
                config, context = await self._config(req)
                config, env_secrets = await self.services.resolve_secrets(config, req.secret_paths, req.tenant_id)
                secrets.extend(env_secrets)
                if context is not None:
                    ctx.extra["context"] = context
                output = await connector.run(config, ctx)
            except ComponentError as err:
                raise _app_error(err.message, err.type, err.retryable, info.attempt, err.details, secrets) from None
            except (ExpressionError, SecretNotFound) as err:  # .message: str() of a KeyError quotes it
                raise _app_error(err.message, type(err).__name__, False, info.attempt, secrets=secrets) from None
            except ApplicationError as err:
                if not secrets:
                    raise
                raise _app_error(err.message, err.type or "ApplicationError", not err.non_retryable, info.attempt,
                                 secrets=secrets) from None
            except Exception as err:  # noqa: BLE001 - unexpected: retry, but never leak secrets in the message
                raise _app_error(f"{type(err).__name__}: {err}", type(err).__name__, True, info.attempt,
                                 secrets=secrets) from None
            output = scrub(output, secrets)
            output = await offload_if_large(output, self.services.payloads, req.payload_threshold_bytes,
                                            req.tenant_id, req.execution_id)
            return ComponentResult(output=output, attempt=info.attempt)

        return run_component

    @activity.defn(name=EVALUATE_ACTIVITY)
    async def evaluate(self, req: ComponentRequest) -> ComponentResult:
        """A pure node that reads stored payloads (or whose output is too large for history)."""
        ctx = await self._context(req.render_context or {}, req)
        node = Node(id=req.node_id, type=req.node_type, config=req.config)
        try:
            outcome = compute_pure(node, ctx, self._env(req))
        except ExpressionError as err:
            raise _app_error(err.message, "ExpressionError", False, activity.info().attempt) from None
        except NodeFailure as err:  # data a pure component cannot use: the same failure as inline
            raise _app_error(err.message, err.type, False, activity.info().attempt) from None
        output = await offload_if_large(outcome.output, self.services.payloads, req.payload_threshold_bytes,
                                        req.tenant_id, req.execution_id)
        return ComponentResult(output=output, port=outcome.port, attempt=activity.info().attempt)

    @activity.defn(name=LOAD_DEFINITION_ACTIVITY)
    async def load_definition(self, req: LoadDefinitionRequest) -> LoadDefinitionResult:
        """A stored workflow's definition (a given version, or its current one), within the tenant."""
        found = await self.services.worker_db.definition(req.workflow_id, req.version, req.tenant_id)
        if found is None:
            raise ApplicationError(f"workflow {req.workflow_id} version {req.version or 'current'} not found",
                                   type="DefinitionNotFound", non_retryable=True)
        definition, version = found
        return LoadDefinitionResult(definition=definition, version=version)

    def all(self) -> list[Callable]:
        return [self._make(c) for c in self.connectors] + [self.evaluate, self.load_definition, checkpoint]


@activity.defn(name=CHECKPOINT_ACTIVITY)
async def checkpoint() -> None:
    """No-op local activity the interpreter awaits between long runs of pure nodes."""
