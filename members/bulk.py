"""Set-based writes the ORM has no words for.

- ``rows_insert_new``: ``INSERT ... ON CONFLICT (target) DO NOTHING``, saying which rows were
  new (``bulk_create(ignore_conflicts=True)`` can neither name the conflict target, which a
  partial unique index needs, nor say which rows it wrote).
- ``rows_insert_select``: an ``INSERT ... SELECT`` statement for a larger one to include (a
  multicast logs its messages in the statement that marks its deliveries sent).
- ``rows_copy``: many rows from Python by ``COPY``, several times faster than ``INSERT``.
- ``rows_update``: each row its own values, in one ``UPDATE ... FROM unnest(...)``.
"""

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Iterable, Sequence

from django.db import connection, models
from django.utils import timezone


def _json_value(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def _fields_and_defaults(model: type[models.Model]) -> tuple[list[models.Field], dict, set]:
    """Every concrete field but the serial key, the value ``save`` would give each, and the
    attnames whose default differs per row (``uuid.uuid4``): those are asked for per row."""
    # ``AutoField`` covers ``BigAutoField`` too.
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    now = timezone.now()
    defaults, varying = {}, set()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults[field.attname] = now
        else:
            defaults[field.attname] = field.get_default()
            if (
                field.has_default()
                and callable(field.default)
                and field.default not in (dict, list)
            ):
                varying.add(field.attname)
    return fields, defaults, varying


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
    fields, defaults, varying = _fields_and_defaults(model)
    records = []
    for row in rows:
        unknown = row.keys() - defaults.keys()
        if unknown:
            raise ValueError(f"{meta.label} has no fields {sorted(unknown)}")
        record = {}
        for field in fields:
            if field.attname in varying and field.attname not in row:
                value = field.get_default()
            else:
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


def rows_insert_select(
    model: type[models.Model], *, source: str, expressions: dict[str, str], row: dict
) -> tuple[str, list]:
    """The statement ``INSERT INTO <model> (...) SELECT ... FROM <source>`` and its parameters,
    for the database to write one row per row of ``source`` (a subquery, or a name a larger
    statement defines).

    The attnames in ``expressions`` take those SQL expressions over ``source``; every other
    field takes its value from ``row`` (attnames to Python values, the same for every row) or
    its default, as ``save`` would give it. ``source`` and ``expressions`` are the caller's own
    SQL, never input; values are parameters (``%s``, in the statement's order).
    """
    ops = connection.ops
    fields, defaults, varying = _fields_and_defaults(model)
    unknown = (row.keys() | expressions.keys()) - defaults.keys()
    if unknown:
        raise ValueError(f"{model._meta.label} has no fields {sorted(unknown)}")
    if varying - row.keys() - expressions.keys():
        raise ValueError(f"give {sorted(varying - row.keys())}: their default differs per row")
    selected, params = [], []
    for target in fields:
        if target.attname in expressions:
            selected.append(expressions[target.attname])
        else:
            selected.append("%s")
            params.append(
                target.get_db_prep_save(
                    row.get(target.attname, defaults[target.attname]), connection
                )
            )
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    sql = (
        f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM {source}"
    )
    return sql, params


def rows_copy(model: type[models.Model], rows: Iterable[dict]) -> int:
    """Insert ``rows`` (attname -> value; the rest take the fields' defaults) by ``COPY``;
    answers the count. Values go through each field's ``get_db_prep_save`` as ``save()``
    would. Other databases (the embedded SQLite default) get ``bulk_create``.
    """
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
        return len(rows)
    from psycopg.types.json import Jsonb

    fields, defaults, varying = _fields_and_defaults(model)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"

    def prepared(field, value):
        if isinstance(field, models.JSONField):
            return Jsonb(value)
        return field.get_db_prep_save(value, connection)

    # A default is the same for every row that leaves it out: made ready for the database once.
    ready = {
        field.attname: prepared(field, defaults[field.attname])
        for field in fields
        if field.attname not in varying
    }

    def value(field, row):
        if field.attname in row:
            return prepared(field, row[field.attname])
        if field.attname in varying:
            return prepared(field, field.get_default())
        return ready[field.attname]

    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([value(field, row) for field in fields])
    return len(rows)


def rows_update(model: type[models.Model], rows: Sequence[dict], fields: Sequence[str]) -> int:
    """Give each row its own values of ``fields`` (attnames), rows being dicts with ``pk`` and
    those fields: on PostgreSQL one ``UPDATE ... FROM unnest(...)`` with one array parameter per
    column, so the statement's text is the same whatever the number of rows (``bulk_update``
    writes a ``CASE`` per field and row, slow to build and to run; a ``VALUES`` list has a
    placeholder per value for the driver to splice in); ``bulk_update`` elsewhere.
    """
    if not rows:
        return 0
    meta = model._meta
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(
            [model(**{"pk": row["pk"], **{name: row[name] for name in fields}}) for row in rows],
            list(fields),
        )
    ops = connection.ops
    targets = [meta.pk, *(meta.get_field(name) for name in fields)]
    for field in targets:
        if isinstance(field, models.JSONField):
            raise ValueError(f"{meta.label}.{field.name}: JSON values are not written as arrays")
    arrays = [
        [meta.pk.get_db_prep_save(row["pk"], connection) for row in rows],
        *(
            [field.get_db_prep_save(row[field.attname], connection) for row in rows]
            for field in targets[1:]
        ),
    ]
    table = ops.quote_name(meta.db_table)
    key = ops.quote_name(meta.pk.column)
    names = [f"v{index}" for index in range(len(targets))]
    assignments = ", ".join(
        f"{ops.quote_name(field.column)} = v.{name}"
        for field, name in zip(targets[1:], names[1:], strict=True)
    )
    unnest = ", ".join(f"%s::{field.db_type(connection)}[]" for field in targets)
    # Identifiers and types come from the model; every value is in an array parameter.
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({unnest}) AS v({', '.join(names)}) "  # noqa: S608
        f"WHERE {table}.{key} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount
