"""A segment's members as CSV, streamed (never all in memory)."""

import csv
from collections.abc import Iterator

from django.utils.translation import gettext as _

from .models import Segment
from .segments import segment_queryset

__all__ = ["segment_export_csv_lines", "segment_export_rows"]

CHUNK = 2000


def segment_export_rows(segment: Segment) -> Iterator[list]:
    """The header, then one row per member of the segment (one query, read in chunks)."""
    yield [
        _("LINE user ID"),
        _("display name"),
        _("customer ID"),
        _("friend status"),
        _("membership rank"),
        _("points"),
        _("prefecture"),
        _("language"),
        _("followed"),
    ]
    members = (
        segment_queryset(segment)
        .order_by("pk")
        .values_list(
            "line_user_id",
            "display_name",
            "external_customer_id",
            "friend_status",
            "rank",
            "points",
            "prefecture",
            "language",
            "followed_at",
        )
    )
    for row in members.iterator(chunk_size=CHUNK):
        *rest, followed_at = row
        yield [
            *("" if v is None else v for v in rest),
            followed_at.isoformat() if followed_at else "",
        ]


def _cell(value) -> str:
    """Text as a spreadsheet shows it, never as a formula (display names are the member's)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


def segment_export_csv_lines(segment: Segment) -> Iterator[str]:
    """CSV text, line by line, with a BOM first so that Excel reads the Japanese names."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in segment_export_rows(segment):
        yield writer.writerow([_cell(value) for value in row])
