"""Set-based writes the ORM has no words for: ``INSERT ... ON CONFLICT (target) DO NOTHING``.

``bulk_create(ignore_conflicts=True)`` can neither name the conflict target (a partial unique
index needs its predicate) nor say which rows were new; this does both in one statement.
"""

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone


def _json_value(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def rows_insert_new(
    model: type[models.Model],
    rows: Sequence[dict],
    *,
    conflict: str,
    returning: Sequence[str] = ("id",),
) -> list[tuple]:
    """Insert rows, skipping those that conflict; return ``returning`` of the rows inserted.

    Each row maps field attnames (``member_id``, not ``member``) to Python values; the other
    fields take their defaults (``auto_now``/``auto_now_add`` fields: now), as ``save`` would.
    ``conflict`` is the ``ON CONFLICT`` target in SQL, e.g. ``(webhook_event_id) WHERE
    webhook_event_id <> ''``: written by the caller, never from input. No ``post_save`` is sent
    (as with ``bulk_create``).

    The rows travel as one JSON parameter read by ``jsonb_to_recordset``: the statement's text
    is the same whatever the number of rows (the driver parses it once), and encoding the
    values is one ``json.dumps``.
    """
    if not rows:
        return []
    ops = connection.ops
    meta = model._meta
    # Every concrete field but the serial key (``AutoField`` covers ``BigAutoField`` too).
    fields = [f for f in meta.concrete_fields if not isinstance(f, models.AutoField)]
    now = timezone.now()
    defaults = {}
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults[field.attname] = now
        else:
            defaults[field.attname] = field.get_default()
    records = []
    for row in rows:
        unknown = row.keys() - defaults.keys()
        if unknown:
            raise ValueError(f"{meta.label} has no fields {sorted(unknown)}")
        record = {}
        for field in fields:
            value = row.get(field.attname, defaults[field.attname])
            if not isinstance(field, models.JSONField):
                value = field.get_db_prep_save(value, connection)
            record[field.column] = value
        records.append(record)
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    if connection.vendor != "postgresql":
        return _rows_insert_new_values(model, fields, records, returning)
    types = ", ".join(f"{ops.quote_name(f.column)} {f.db_type(connection)}" for f in fields)
    returned = ", ".join(ops.quote_name(meta.get_field(name).column) for name in returning)
    # Identifiers and types come from the model, the target from the caller's constant; the
    # values are one parameter.
    sql = (
        f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM jsonb_to_recordset(%s::jsonb) AS r({types}) "
        f"ON CONFLICT {conflict} DO NOTHING RETURNING {returned}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(records, ensure_ascii=False, default=_json_value)])
        return cursor.fetchall()


# Rows per statement on other databases: SQLite allows 32,766 parameters per statement.
_VALUES_CHUNK = 500


def _rows_insert_new_values(model, fields, records, returning) -> list[tuple]:
    """The same insert with a VALUES list, for the embedded SQLite default (3.35+ upsert).

    JSON fields were left unencoded for the PostgreSQL path; SQLite stores JSON as text.
    SQLite matches a partial index's conflict target only by its exact expression, so any
    unique conflict skips the row here (every caller's table has only the one it names).
    """
    ops = connection.ops
    meta = model._meta
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    returned = ", ".join(ops.quote_name(meta.get_field(name).column) for name in returning)
    row_placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(records), _VALUES_CHUNK):
            chunk = records[start : start + _VALUES_CHUNK]
            params = []
            for record in chunk:
                for field in fields:
                    value = record[field.column]
                    if isinstance(field, models.JSONField):
                        value = field.get_db_prep_save(value, connection)
                    params.append(value)
            sql = (
                f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([row_placeholder] * len(chunk))} "
                f"ON CONFLICT DO NOTHING RETURNING {returned}"
            )
            cursor.execute(sql, params)
            inserted.extend(cursor.fetchall())
    return inserted
