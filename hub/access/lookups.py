"""What every read looks up and almost never changes, kept per process (docs/performance.md).

A clerk's read within a visit resolved its purpose with two statements before it read anything:
the visit, and the catalogue's material type codes (what "all of the applicant's materials"
covers). Both now come from memory after the first request:

- **Visits** never change once opened (nothing updates or deletes one), so a visit found is kept,
  up to `MAX_VISITS`, the oldest going first; its expiry is checked on every request against the
  kept time. A visit not found is never kept: it is looked up again, as before.
- **Material type codes** change only when an operator loads a catalogue. They are kept for
  `CATALOGUE_SECONDS`: a type added in another process is covered by visits within that time.
- **Service items with their required materials** (the one-time notice's and a case's bundle) are
  kept by catalogue version and item codes. The current version is read on every request, and a
  catalogue load makes a new one (items of a version never change; material types change only
  with a new version), so a load is used from the next request on, in every process. At most
  `MAX_BUNDLES`; the oldest goes first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from storage.models import MaterialType, ServiceItem

if TYPE_CHECKING:
    from hub.cases.notice import Requirement

# Bounded, so that a stream of distinct visits cannot grow a process without limit.
MAX_VISITS = 10_000
CATALOGUE_SECONDS = 5.0
MAX_BUNDLES = 1_000


class Bundle(NamedTuple):
    """Service items of one catalogue version, by code, what each requires (by item id), and what
    they require together (hub.cases.notice.materials_required_for), merged once for every request
    naming the same items rather than on each.

    Entities loaded by an earlier request's session: read their columns only, never add them to
    another session."""

    items: tuple[ServiceItem, ...]
    required: dict[int, list[tuple[MaterialType, bool]]]
    requirements: tuple[Requirement, ...]


class KnownVisit(NamedTuple):
    principal_id: int
    id_number: str
    expires_at: datetime


class Lookups:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._visits: dict[int, KnownVisit] = {}
        self._material_type_codes: tuple[float, frozenset[str]] | None = None
        self._bundles: dict[tuple[int, tuple[str, ...]], Bundle] = {}

    def visit(self, visit_id: int) -> KnownVisit | None:
        return self._visits.get(visit_id)

    def remember_visit(self, visit_id: int, visit: KnownVisit) -> None:
        if len(self._visits) >= MAX_VISITS:
            del self._visits[next(iter(self._visits))]  # oldest first: dicts keep insertion order
        self._visits[visit_id] = visit

    def material_type_codes(self) -> frozenset[str] | None:
        if self._material_type_codes is None:
            return None
        stored_at, codes = self._material_type_codes
        return codes if self._clock() - stored_at <= CATALOGUE_SECONDS else None

    def remember_material_type_codes(self, codes: frozenset[str]) -> None:
        self._material_type_codes = (self._clock(), codes)

    def bundle(self, catalog_version_id: int, codes: tuple[str, ...]) -> Bundle | None:
        return self._bundles.get((catalog_version_id, codes))

    def remember_bundle(self, catalog_version_id: int, codes: tuple[str, ...], bundle: Bundle) -> None:
        if len(self._bundles) >= MAX_BUNDLES:
            del self._bundles[next(iter(self._bundles))]
        self._bundles[catalog_version_id, codes] = bundle
