"""The project's data converter writes the bytes Temporal's default converter writes, and reads them back the
same (its faster dataclass path must not change a payload: recorded histories and other SDKs read them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio.converter import DataConverter

from workflows.converter import data_converter
from workflows.delivery import DeliverRequest
from workflows.types import (
    ComponentRequest,
    ComponentResult,
    Decision,
    ExecutionInput,
    ExecutionOptions,
    NodeRunsRecord,
    TaskRecord,
)

DEFAULT = DataConverter.default.payload_converter
OURS = data_converter.payload_converter


@dataclass
class _Inner:
    n: int
    tags: list[str] = field(default_factory=list)


@dataclass
class _Outer:
    inner: _Inner
    maybe: _Inner | None = None
    many: list[_Inner] = field(default_factory=list)
    by_key: dict[str, _Inner] = field(default_factory=dict)
    late: int = field(default=0, init=False)


VALUES: list[Any] = [
    ExecutionInput(definition={"nodes": [{"id": "start", "type": "start"}], "edges": []},
                   input={"body": {"ü": [1, 2.5, None, True]}, "z": "\u2028"}, workflow_id="w", version=3,
                   trigger="webhook", tenant_id="t", started_by="me", options=ExecutionOptions(inline_batch=7),
                   features=["record-node-runs"], resume={"completed": {"a": {"output": 1}}}),
    NodeRunsRecord(execution_id="e", tenant_id="t", workflow_id=None, version=None, status="completed",
                   started_at="2026-01-01T00:00:00+00:00", nodes={"a": {"status": "completed", "attempts": 1}},
                   output={"x": [1, {"y": None}]}, progress={"nodes": {}}, close_row=True),
    ComponentRequest(node_id="n", node_type="http.request", config={"url": "http://x"}, execution_id="e",
                     idempotency_key="e:n", secret_paths=[["headers", "a"], [0, "b"]], skip_fields=["body"]),
    ComponentResult(output=[1, 2], port="true", attempt=2),
    Decision(task_id="t", decision="approve", roles=["operator"], data={"k": 1}),
    TaskRecord(task_id="t", execution_id="e", node_id="n", title="T", assignee_roles=["admin"], votes=[{"a": 1}]),
    DeliverRequest(delivery_id="d", subscription_id="s", event_type="execution.completed", body='{"a": 1}'),
    _Outer(inner=_Inner(1, ["a"]), maybe=_Inner(2), many=[_Inner(3), _Inner(4, ["b", "c"])],
           by_key={"k": _Inner(5)}),
    {"plain": [1, "two", {"three": 3.0}]},
    None,
    [1, 2, 3],
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_same_bytes_and_same_values_as_the_default_converter(value):
    ours, default = OURS.to_payloads([value]), DEFAULT.to_payloads([value])
    assert [p.SerializeToString(deterministic=True) for p in ours] == \
        [p.SerializeToString(deterministic=True) for p in default]
    hint = type(value) if dataclasses.is_dataclass(value) else None
    back = OURS.from_payloads(ours, [hint] if hint else None)[0]
    assert back == DEFAULT.from_payloads(default, [hint] if hint else None)[0]
    assert back == value


def test_init_false_fields_and_unknown_keys_are_read_like_the_default():
    outer = _Outer(inner=_Inner(1))
    outer.late = 9
    payloads = DEFAULT.to_payloads([outer])
    payloads[0].data = payloads[0].data.replace(b'"inner"', b'"unknown":1,"inner"')
    ours = OURS.from_payloads(payloads, [_Outer])[0]
    assert ours == DEFAULT.from_payloads(payloads, [_Outer])[0]
    assert ours.late == 9


def test_a_missing_required_field_or_a_wrong_shape_fails_like_the_default():
    for data in (b'{"tags":[]}', b'[1]', b'{"n":"not an int"}'):
        payloads = DEFAULT.to_payloads([_Inner(1)])
        payloads[0].data = data
        with pytest.raises(Exception) as default_err:
            DEFAULT.from_payloads(payloads, [_Inner])
        with pytest.raises(type(default_err.value)):
            OURS.from_payloads(payloads, [_Inner])
