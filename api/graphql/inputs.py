"""Checks of a GraphQL request's inputs before execution: bounded nesting, no NUL characters.

Both used to escape as errors from deeper down (a RecursionError -> 500 for deeply nested `variables`; a
database error -> "internal error" for a NUL byte in a string argument). Here they become a 400 that says where.
"""

from __future__ import annotations

from typing import Any

from graphql import StringValueNode, parse, visit
from graphql.error import GraphQLSyntaxError
from graphql.language import Visitor

MAX_VARIABLES_DEPTH = 32


def variables_problem(variables: Any) -> str | None:
    """Why `variables` is refused, or None. Iterative: never recurses on client data."""
    stack: list[tuple[Any, str, int]] = [(variables, "variables", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return f"{path}: NUL characters (\\u0000) are not accepted"
            continue
        if isinstance(value, (dict, list)):
            if depth >= MAX_VARIABLES_DEPTH:
                return f"{path}: nested deeper than {MAX_VARIABLES_DEPTH} levels"
            if isinstance(value, dict):
                for k, v in value.items():
                    if "\x00" in str(k):
                        return f"{path}: NUL characters (\\u0000) are not accepted in names"
                    stack.append((v, f"{path}.{k}", depth + 1))
            else:
                stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
    return None


class _NulFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if self.found is None and "\x00" in node.value:
            self.found = node


def query_problem(query: str) -> str | None:
    """A NUL in the query text or in one of its string literals (`"a\\u0000b"`), or None.

    A syntax error is left to the executor (it reports it the GraphQL way)."""
    if "\x00" in query:
        return "query: NUL characters are not accepted"
    if "\\u" not in query:  # a NUL can only come in through an escape
        return None
    try:
        doc = parse(query, max_tokens=5000)
    except (GraphQLSyntaxError, RecursionError):
        return None
    finder = _NulFinder()
    visit(doc, finder)
    if finder.found is not None:
        loc = finder.found.loc
        where = f" (line {loc.source.get_location(loc.start).line})" if loc is not None else ""
        return f"query: NUL characters (\\u0000) are not accepted in string arguments{where}"
    return None
