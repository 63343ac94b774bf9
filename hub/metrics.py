"""Prometheus metrics of one hub process (each process is scraped on its own /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "hub_http_requests_total", "HTTP requests served", ["route", "method", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "hub_http_request_duration_seconds",
    "Time to serve an HTTP request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
    registry=REGISTRY,
)
GRAPHQL_ERRORS = Counter(
    "hub_graphql_errors_total", "GraphQL errors returned, by extensions.code", ["code"], registry=REGISTRY
)
SUPERVISION_WARNINGS = Counter(
    "hub_supervision_warnings_total",
    "Timing warnings (预警提示) raised by this process's evaluations",
    registry=REGISTRY,
)
SUPERVISION_ALERTS = Counter(
    "hub_supervision_alerts_total",
    "Access anomaly alerts raised by this process's evaluations",
    ["rule"],
    registry=REGISTRY,
)
