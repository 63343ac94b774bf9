"""The name of the export format (docs/audit-log.md), apart from the export's code: the offline
verifier reads exports without importing what writes them (the database, the access checks)."""

from __future__ import annotations

FORMAT = "hub-access-log-export/1"
