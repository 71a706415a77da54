"""`system_cpu_percent` and `system_memory_percent` of the worker's machine, on the worker's Prometheus
endpoint (with the SDK's metrics), refreshed every `SYSTEM_REFRESH_S` seconds while the worker runs."""

from __future__ import annotations

import asyncio

import psutil
from temporalio.runtime import Runtime

SYSTEM_REFRESH_S = 5.0


async def report_system_metrics(runtime: Runtime | None, stop: asyncio.Event,
                                interval: float = SYSTEM_REFRESH_S) -> None:
    """Refresh the machine gauges until `stop` is set."""
    meter = (runtime or Runtime.default()).metric_meter
    cpu = meter.create_gauge_float("system_cpu_percent", "CPU use of the machine", "%")
    mem = meter.create_gauge_float("system_memory_percent", "memory use of the machine", "%")
    psutil.cpu_percent(interval=None)
    while not stop.is_set():
        cpu.set(psutil.cpu_percent(interval=None))
        mem.set(psutil.virtual_memory().percent)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
