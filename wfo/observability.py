"""Metrics and traces: Prometheus for the SDK and the API, OpenTelemetry spans across workflow and activities.

- Worker: the Temporal SDK's own metrics (task latencies, schedule-to-start, activity failures, ...) on a
  Prometheus endpoint (`WORKER_METRICS_PORT`), plus `wfo_node_runs` (component attempts by outcome) from the component activities.
- Client/worker: `TracingInterceptor` makes every workflow, activity and child a span, linked across the
  API -> Temporal -> worker hop; spans are exported per `OTEL_TRACES_EXPORTER` (`none`, `console`).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
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
def tracing_interceptors(exporter: str = "none") -> tuple:
    """Temporal client interceptors creating OpenTelemetry spans (the SDK is a declared dependency)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        if exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(provider)
    return (TracingInterceptor(),)
