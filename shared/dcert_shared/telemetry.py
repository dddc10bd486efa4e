"""OpenTelemetry traces and metrics, and the trace context that rides on every event.

One trace runs from an HTTP request through the event it records, the NATS message the relay
publishes and every consumer that reacts. No personal data goes into a span or a metric label:
HTTP spans carry the route template, never the raw path or query (certificate numbers contain
identity numbers, verification codes are credentials).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span

from .envelope import Actor, CommandContext

log = logging.getLogger(__name__)

_REDACTED_HTTP_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.path", "url.query")


def setup_telemetry(service_name: str, otlp_endpoint: str | None = None) -> None:
    """Install the tracer and meter providers once per process (tests may have installed theirs)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if otlp_endpoint:
            provider.add_span_processor(BatchSpanProcessor(_otlp_span_exporter(otlp_endpoint)))
        trace.set_tracer_provider(provider)
    if otlp_endpoint:
        _setup_metrics(service_name, otlp_endpoint)


def _otlp_span_exporter(endpoint: str) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")


def _setup_metrics(service_name: str, endpoint: str) -> None:
    from opentelemetry import metrics
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint.rstrip('/')}/v1/metrics"))
    resource = Resource.create({"service.name": service_name})
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))


def tracer() -> trace.Tracer:
    return trace.get_tracer("dcert")


def current_trace_headers() -> dict[str, str]:
    """W3C trace context of the current span, as headers (traceparent, tracestate)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_headers(headers: Mapping[str, str] | None) -> Context:
    return propagate.extract(dict(headers or {}))


def command_context(actor: Actor, **kwargs: Any) -> CommandContext:
    """A command's context, carrying the trace of the request or message that runs it."""
    headers = current_trace_headers()
    return CommandContext(
        actor=actor, traceparent=headers.get("traceparent"), tracestate=headers.get("tracestate"), **kwargs
    )


def redact_http_span(span: Span, scope: dict[str, Any]) -> None:
    """Server request hook: replace path and query attributes, which may hold personal data."""
    if span is None or not span.is_recording():
        return
    for attribute in _REDACTED_HTTP_ATTRIBUTES:
        span.set_attribute(attribute, "[redacted]")


def instrument_app(app: Any) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="health", server_request_hook=redact_http_span, exclude_spans=["receive", "send"]
    )


def instrument_asyncpg() -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()  # statements only: parameters are never captured
