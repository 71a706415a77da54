"""One OpenTelemetry trace from a webhook request, through Temporal and the activity, to the HTTP node's call."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from tests.events.conftest import api_context, running_worker
from tests.localpeers import HttpSink
from wfo.observability import tracing_interceptors


async def test_webhook_to_http_node_is_one_trace(ev_settings, client, sessionmaker, tenant_id):
    interceptors = list(tracing_interceptors())  # sets the process's provider if nothing did
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    traced = Client(client.service_client, namespace=client.namespace, data_converter=client.data_converter,
                    interceptors=interceptors)
    with HttpSink() as sink:
        definition = {"nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": "http.request", "config": {"method": "POST", "url": sink.url + "/traced",
                                                               "json": "{{ input.body }}"}},
            {"id": "end", "type": "end", "config": {"output": "{{ nodes.call.status }}"}}],
            "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "end"}]}
        async with api_context(ev_settings, client, sessionmaker, tenant_id, temporal_client=traced) as api, \
                running_worker(traced, ev_settings):
            trig = await api.trigger(await api.workflow(definition))
            spans.clear()
            r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"n": 1})
            assert r.status_code == 202, r.text
            assert await traced.get_workflow_handle(r.json()["execution_id"]).result() == 200
        calls = sink.calls("POST", "/traced")
    assert len(calls) == 1
    finished = spans.get_finished_spans()
    server = [s for s in finished if s.kind == trace.SpanKind.SERVER and "/api/v1/hooks/" in s.name]
    assert server, [s.name for s in finished]
    trace_id = server[0].context.trace_id
    names = {s.name for s in finished if s.context.trace_id == trace_id}
    assert any(n.startswith("StartWorkflow:Interpreter") for n in names), names
    assert any(n.startswith("RunWorkflow:Interpreter") for n in names), names
    assert any(n.startswith("RunActivity:http.request") for n in names), names
    client_spans = [s for s in finished if s.kind == trace.SpanKind.CLIENT and s.context.trace_id == trace_id
                    and (s.attributes or {}).get("url.full", (s.attributes or {}).get("http.url", "")).endswith("/traced")]
    assert len(client_spans) == 1, names
    # the peer got the same trace in its traceparent header (W3C: 00-<trace id>-<span id>-<flags>)
    assert calls[0].headers["traceparent"].split("-")[1] == format(trace_id, "032x")
