"""GraphQL (ariadne) at ``/api/beta/graphql``, with the GraphiQL explorer.

- Authentication is the REST one (``api.deps``: JWT bearer or ``X-API-Key``); the route itself needs `read`
  (``api.permissions.ROUTE_PERMISSIONS``) and every root field its permission from
  ``api.permissions.GRAPHQL_PERMISSIONS``, checked before anything runs (a field missing there is refused).
- Depth (8) and complexity (5000; list fields multiply by their `limit`) are limited before execution.
- Nested fields load through per-request batch loaders (``api.graphql.loaders``): no query per list item.
- ``GET /api/beta/graphql`` runs a query from the query string (no mutations over GET) or, without one, serves the
  explorer; ``GET /api/beta/graphql/explorer`` serves the explorer page without a token (a static page: paste a
  token into its Headers tab as ``{"Authorization": "Bearer ..."}``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ariadne import graphql, load_schema_from_path, make_executable_schema
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError

from api.deps import (
    CurrentPrincipal,
    OptionalPrincipal,
    Principal,
    SessionDep,
    SettingsDep,
    check_permission,
    get_temporal_client,
)
from api.errors import graphql_code, messages
from api.graphql.inputs import query_problem, variables_problem
from api.graphql.limits import MAX_COMPLEXITY, MAX_DEPTH, limits_rule, permission_rule
from api.graphql.loaders import Loaders
from api.graphql.resolvers import OBJECTS
from api.permissions import P
from wfo.errors import Unavailable, WfoError
from wfo.settings import Settings

log = logging.getLogger(__name__)

# ariadne logs every error with the query text, which may hold literal values a client sent (we log
# resolver failures ourselves, by type only, in _format_error)
_ariadne_log = logging.getLogger("wfo.graphql.ariadne")
_ariadne_log.addHandler(logging.NullHandler())
_ariadne_log.propagate = False
_ariadne_log.setLevel(logging.CRITICAL + 1)

PATH = "/api/beta/graphql"
MAX_QUERY_CHARS = 20_000

router = APIRouter(tags=["graphql"])


@lru_cache(maxsize=1)
def schema():
    type_defs = load_schema_from_path(str(Path(__file__).with_name("schema.graphql")))
    return make_executable_schema(type_defs, *OBJECTS)


@dataclass
class Context:
    request: Request
    principal: Principal
    session: Any
    settings: Settings
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loaders: Loaders | None = None

    async def temporal(self, optional: bool = False):
        try:
            return await get_temporal_client(self.request.app)
        except Exception:  # noqa: BLE001 - server unreachable
            if optional:
                return None
            raise Unavailable("workflow engine (Temporal) unavailable") from None


def _format_error(error: GraphQLError, debug: bool = False) -> dict:
    """GraphQL errors as usual; an unexpected exception inside a resolver never shows its text."""
    out = error.formatted
    if isinstance(error.original_error, WfoError):  # the project's errors: their safe message and a code
        out["message"] = messages(error.original_error)[0]
        out.setdefault("extensions", {})["code"] = graphql_code(error.original_error)
    elif error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        log.warning("graphql resolver error at %s: %s", out.get("path"), type(error.original_error).__name__)
        out["message"] = "internal error"
        out.setdefault("extensions", {})["code"] = "INTERNAL_SERVER_ERROR"
    return out


def _bad_request(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]},
                        status_code=status)


async def execute(request: Request, principal: Principal, session, settings: Settings, data: Any,
                  *, allow_mutations: bool = True) -> JSONResponse:
    if not isinstance(data, dict):
        return _bad_request("the body must be a JSON object with `query` (batched requests are not supported)")
    query = data.get("query")
    variables = data.get("variables")
    if not isinstance(query, str) or not query.strip():
        return _bad_request("`query` must be a non-empty string")
    if len(query) > MAX_QUERY_CHARS:
        return _bad_request(f"`query` is longer than {MAX_QUERY_CHARS} characters", 413)
    if variables is not None and not isinstance(variables, dict):
        return _bad_request("`variables` must be an object")
    op_name = data.get("operationName")
    if op_name is not None and not isinstance(op_name, str):
        return _bad_request("`operationName` must be a string")
    problem = variables_problem(variables) or query_problem(query)
    if problem:
        return _bad_request(problem)
    if not allow_mutations:
        try:
            doc = parse(query, max_tokens=5000)
        except GraphQLSyntaxError as err:
            return JSONResponse({"data": None, "errors": [err.formatted]}, status_code=400)
        ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [o for o in ops if op_name is None or (o.name and o.name.value == op_name)]
        if any(o.operation != OperationType.QUERY for o in chosen):
            return _bad_request("mutations must be sent with POST", 405)

    ctx = Context(request=request, principal=principal, session=session, settings=settings)
    ctx.loaders = Loaders(session, principal.tenant_id, ctx.lock)
    rules = [permission_rule(principal.role), limits_rule(variables, max_depth=MAX_DEPTH, max_complexity=MAX_COMPLEXITY)]
    success, result = await graphql(
        schema(), {"query": query, "variables": variables, "operationName": op_name},
        context_value=ctx, validation_rules=rules, debug=False, error_formatter=_format_error, logger=_ariadne_log,
        query_parser=lambda _ctx, d: parse(d["query"], max_tokens=5000),
    )
    # executed (possibly with field errors): 200; refused before execution (syntax, validation, limits): 4xx
    # (a null `data` means nothing usable came back: bad variables, or a bad argument on a root field)
    status = 200 if result.get("data") is not None else 400
    if status == 400 and any((e.get("extensions") or {}).get("code") == "FORBIDDEN" for e in result.get("errors", [])):
        status = 403
    return JSONResponse(result, status_code=status)


EXPLORER_URL = "/workflow_orchestration/graphiql.html"
"""GraphiQL, built with the web app (designer/graphiql.html) and served from its assets: no CDN. It sends
the web app's session token; without a build, that path answers a page saying how to build it."""


def explorer() -> RedirectResponse:
    return RedirectResponse(EXPLORER_URL, status_code=307)


@router.post(PATH)
async def graphql_post(request: Request, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep):
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        return _bad_request("the body is not valid JSON")
    except RecursionError:
        return _bad_request("the body is nested too deeply")
    return await execute(request, principal, session, settings, data)


@router.get(PATH)
async def graphql_get(request: Request, principal: OptionalPrincipal, session: SessionDep, settings: SettingsDep):
    """A query over GET (no mutations) needs `read` like POST; without `query` (a browser opening the URL)
    the answer is the explorer page, which holds no data (its queries carry the caller's token)."""
    params = request.query_params
    if "query" not in params:
        return explorer()
    principal = check_permission(principal, P.READ)
    variables: Any = None
    if params.get("variables"):
        try:
            variables = json.loads(params["variables"])
        except ValueError:
            return _bad_request("`variables` is not valid JSON")
        except RecursionError:
            return _bad_request("`variables` is nested too deeply")
    data = {"query": params["query"], "variables": variables, "operationName": params.get("operationName")}
    return await execute(request, principal, session, settings, data, allow_mutations=False)


@router.get(PATH + "/explorer", response_class=RedirectResponse, status_code=307)
async def graphql_explorer():
    """The GraphiQL page (static; its queries carry the web app's token or one set in its Headers tab)."""
    return explorer()
