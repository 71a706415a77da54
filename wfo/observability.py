"""Metrics and traces: Prometheus for the SDK and the API, OpenTelemetry spans from the API to the peers.

- Worker: the Temporal SDK's own metrics (task latencies, schedule-to-start, activity failures, ...) on a
  Prometheus endpoint (`WORKER_METRICS_PORT`), plus `wfo_node_runs` (component attempts by outcome) from the
  component activities and the documented `workflow_*` / `system_*` metrics (`worker.workflow_metrics`,
  `worker.system_metrics`).
- Client/worker: `TracingInterceptor` makes every workflow, activity and child a span, linked across the
  API -> Temporal -> worker hop; API requests (FastAPI) and outbound HTTP (httpx) are spans of the same
  trace; spans are exported per `OTEL_TRACES_EXPORTER` (`none`, `console`, `otlp`). The default, `off`,
  makes no spans at all: each one costs CPU on every request, workflow task and activity (about a tenth
  of the API's CPU per webhook in `bench/profile_intake.py`), which is waste when nothing reads them.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

log = logging.getLogger(__name__)


@lru_cache
def worker_runtime(metrics_port: int | None) -> Runtime | None:
    """A Temporal runtime exporting SDK metrics on 0.0.0.0:`metrics_port` (None: the default runtime)."""
    if not metrics_port:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{metrics_port}")))


@lru_cache
def setup_tracing(exporter: str = "none") -> None:
    """The process's tracer provider (once), exporting per `exporter`, and httpx instrumentation.

    `none`: spans are made (trace ids reach logs and `traceparent` headers) but not exported; `console`:
    printed; `otlp`: sent by OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter reads the standard
    `OTEL_EXPORTER_OTLP_*` variables). Every httpx client (HTTP components, webhook deliveries) makes a
    client span and propagates the trace to the peer.
    """
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        if exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif exporter == "otlp":
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


@lru_cache
def tracing_interceptors(exporter: str = "none") -> tuple:
    """Temporal client interceptors making every workflow, activity and child a span, linked to the caller
    (none when tracing is `off`)."""
    if exporter == "off":
        return ()
    setup_tracing(exporter)
    return (TracingInterceptor(),)


def instrument_api(app: FastAPI, exporter: str = "none") -> None:
    """Server spans for every API request (not `/metrics` and `/health`), the parent of what it starts
    (nothing when tracing is `off`)."""
    if exporter == "off":
        return
    setup_tracing(exporter)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="metrics,health")
