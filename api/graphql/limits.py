"""Validation rules run before any resolver: per-operation permissions, query depth and complexity.

A refused document executes nothing (no partial results, no side effects).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    ValidationRule,
    VariableNode,
)

from api.permissions import permission_for_graphql, role_has

MAX_DEPTH = 8
MAX_COMPLEXITY = 5000
DEFAULT_LIST_SIZE = 20
MAX_LIST_SIZE = 500


def _unwrap(t: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        if isinstance(t, GraphQLList):
            is_list = True
        t = t.of_type
    return t, is_list


def permission_rule(role: str) -> type[ValidationRule]:
    """Every root field needs its permission from ``api.permissions.GRAPHQL_PERMISSIONS`` (fail closed)."""

    class PermissionRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            root = {"query": schema.query_type, "mutation": schema.mutation_type,
                    "subscription": schema.subscription_type}[node.operation.value]
            for field in _root_fields(self.context, node.selection_set, set()):
                name = field.name.value
                if name.startswith("__") or root is None or name not in root.fields:
                    continue  # introspection (__schema, __type, __typename); unknown fields fail validation anyway
                perm = permission_for_graphql(name)
                if perm is None:
                    self.report_error(GraphQLError(f"'{name}' is not an allowed operation", field,
                                                   extensions={"code": "FORBIDDEN"}))
                elif not role_has(role, perm):
                    self.report_error(GraphQLError(f"'{name}' requires the '{perm}' permission", field,
                                                   extensions={"code": "FORBIDDEN", "permission": str(perm)}))

    return PermissionRule


def _root_fields(ctx, selection_set, seen: set[str]) -> list[FieldNode]:
    out: list[FieldNode] = []
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            out += _root_fields(ctx, sel.selection_set, seen)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            seen.add(sel.name.value)
            frag = ctx.get_fragment(sel.name.value)
            if frag is not None:
                out += _root_fields(ctx, frag.selection_set, seen)
    return out


def limits_rule(variables: dict[str, Any] | None, *, max_depth: int = MAX_DEPTH,
                max_complexity: int = MAX_COMPLEXITY) -> type[ValidationRule]:
    """Refuse operations nested deeper than `max_depth` or costing more than `max_complexity`.

    Cost: every field costs 1, and a list field multiplies its sub-selection's cost by its `limit` argument
    (or that argument's default, or 20). Introspection is exempt so the explorer works.
    """
    variables = variables or {}

    class LimitsRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            root = {"query": schema.query_type, "mutation": schema.mutation_type,
                    "subscription": schema.subscription_type}[node.operation.value]
            if root is None:
                return
            depth, cost = self._measure(root, node.selection_set, 1, frozenset())
            name = node.name.value if node.name else "anonymous"
            if depth > max_depth:
                self.report_error(GraphQLError(
                    f"operation '{name}' is nested {depth} levels deep; the limit is {max_depth}", node,
                    extensions={"code": "QUERY_TOO_DEEP", "depth": depth, "limit": max_depth}))
            elif cost > max_complexity:
                self.report_error(GraphQLError(
                    f"operation '{name}' has complexity {cost}; the limit is {max_complexity} "
                    "(lower the `limit` arguments or select fewer nested lists)", node,
                    extensions={"code": "QUERY_TOO_COMPLEX", "complexity": cost, "limit": max_complexity}))

        def _measure(self, parent: Any, selection_set, level: int, fragments: frozenset[str]) -> tuple[int, int]:
            depth, cost = level, 0
            if selection_set is None:
                return level - 1, 0
            for sel in selection_set.selections:
                if isinstance(sel, FieldNode):
                    name = sel.name.value
                    if name.startswith("__"):
                        continue
                    fdef = parent.fields.get(name) if isinstance(parent, GraphQLObjectType) else None
                    if fdef is None:
                        cost += 1
                        continue
                    inner, is_list = _unwrap(fdef.type)
                    if sel.selection_set is not None:
                        d, c = self._measure(inner, sel.selection_set, level + 1, fragments)
                        depth = max(depth, d)
                        size = self._list_size(sel, fdef) if is_list else 1
                        cost += 1 + size * c
                    else:
                        cost += 1
                elif isinstance(sel, InlineFragmentNode):
                    target = parent
                    if sel.type_condition is not None:
                        target = self.context.schema.get_type(sel.type_condition.name.value) or parent
                    d, c = self._measure(target, sel.selection_set, level, fragments)
                    depth, cost = max(depth, d), cost + c
                elif isinstance(sel, FragmentSpreadNode):
                    fname = sel.name.value
                    if fname in fragments:
                        continue  # cycles are reported by the standard NoFragmentCycles rule
                    frag = self.context.get_fragment(fname)
                    if frag is None:
                        continue
                    target = self.context.schema.get_type(frag.type_condition.name.value) or parent
                    d, c = self._measure(target, frag.selection_set, level, fragments | {fname})
                    depth, cost = max(depth, d), cost + c
            return depth, cost

        @staticmethod
        def _list_size(sel: FieldNode, fdef: Any) -> int:
            for arg in sel.arguments or ():
                if arg.name.value == "limit":
                    if isinstance(arg.value, IntValueNode):
                        return _clamp(int(arg.value.value))
                    if isinstance(arg.value, VariableNode):
                        val = variables.get(arg.value.name.value)
                        if isinstance(val, int):
                            return _clamp(val)
            limit_arg = fdef.args.get("limit")
            if limit_arg is not None and isinstance(limit_arg.default_value, int):
                return _clamp(limit_arg.default_value)
            return DEFAULT_LIST_SIZE

    return LimitsRule


def _clamp(n: int) -> int:
    return max(1, min(n, MAX_LIST_SIZE))
