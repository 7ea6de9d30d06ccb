"""The five streams, one module each: per grid, how new records are found (the scan and its cursor) and how its
rows — from the grid, or built from re-read details — are mapped to canonical and merged."""

from __future__ import annotations

from connectors.econobis.sync.context import PullContext
from connectors.econobis.sync.paging import GridPager
from connectors.econobis.sync.streams.base import CANONICAL_KIND, Details, Stream
from connectors.econobis.sync.streams.contacts import ContactStream
from connectors.econobis.sync.streams.housing_files import HousingFileStream
from connectors.econobis.sync.streams.intakes import IntakeStream
from connectors.econobis.sync.streams.opportunities import OpportunityStream
from connectors.econobis.sync.streams.quotation_requests import QuotationRequestStream

__all__ = [
    "CANONICAL_KIND",
    "ContactStream",
    "Details",
    "HousingFileStream",
    "IntakeStream",
    "OpportunityStream",
    "QuotationRequestStream",
    "Stream",
    "build_streams",
]


def build_streams(ctx: PullContext, pager: GridPager) -> dict[str, Stream]:
    """One handler per stream, keyed by stream name."""
    classes: tuple[type[Stream], ...] = (
        ContactStream,
        IntakeStream,
        OpportunityStream,
        QuotationRequestStream,
        HousingFileStream,
    )
    return {cls.name: cls(ctx, pager) for cls in classes}
