"""Prometheus metrics of one hub process (each process is scraped on its own /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
ACCESS_LOG_FAILURES = Counter(
    "hub_access_log_failures_total",
    "Requests failed closed because their access entries could not be written",
    registry=REGISTRY,
)
ACCESS_GROUP_COMMIT_FALLBACKS = Counter(
    "hub_access_group_commit_fallbacks_total",
    "Batches of reads' access entries that could not be written together, each read's then written alone",
    registry=REGISTRY,
)
AUDIT_SIGNING_REFUSED = Counter(
    "hub_audit_signing_refused_total",
    "Checkpoints the signer refused because the tree is not consistent with the head it signed last",
    registry=REGISTRY,
)
AUDIT_SEQUENCER_HALTED = Counter(
    "hub_audit_sequencer_halted_total",
    "Sequencer runs that stopped numbering because the stored log is damaged",
    registry=REGISTRY,
)
AUDIT_WITNESS_FAILURES = Counter(
    "hub_audit_witness_failures_total",
    "Checkpoints a configured witness did not cosign (refused or unreachable)",
    ["witness"],
    registry=REGISTRY,
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
COMPILED_READS = Counter(
    "hub_compiled_reads_total",
    "Requests naming a registered document of the compiled subset, by who answered: "
    "compiled (one statement) or resolvers (a denial, an unknown applicant, a variable out of range...)",
    ["path"],
    registry=REGISTRY,
)
AUDIT_LOG_LAG = Gauge(
    "hub_audit_log_lag_seconds",
    "How long the oldest access entry not yet in the log's tree has waited (0: all are in it), read "
    "from the database at each scrape: the same in every process; it grows when no sequencer runs",
    registry=REGISTRY,
)
