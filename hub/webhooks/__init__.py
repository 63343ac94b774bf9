"""Webhooks per Standard Webhooks 1.0: the endpoints a department registers, signing (v1 HMAC with
the endpoint's secret, v1a Ed25519 with the hub's key), outbound safety, and the workers that
deliver the outbox's events at least once (docs/webhooks.md).
"""
