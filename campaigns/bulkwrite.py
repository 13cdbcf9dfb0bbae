"""Many rows into PostgreSQL by COPY: the send path writes a Delivery and a conversation-log row
per recipient, and COPY does that several times faster than INSERT's bound parameters.

Other databases (the embedded SQLite default) get ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models


def _defaults(model: type[models.Model]):
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    fixed, per_row = {}, []
    for field in fields:
        if (
            (field.has_default() and callable(field.default))
            or getattr(field, "auto_now", False)
            or getattr(field, "auto_now_add", False)
        ):
            per_row.append(field)
        else:
            fixed[field.attname] = field.get_default()
    return fields, fixed, per_row


def rows_copy(model: type[models.Model], rows: Iterable[dict]) -> int:
    """Insert ``rows`` (attname -> value; the rest take the fields' defaults); answers the count.

    Values go through each field's ``get_db_prep_save`` as ``save()`` would.
    """
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
        return len(rows)
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    fields, fixed, per_row = _defaults(model)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    now = timezone.now()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            values = {**fixed, **row}
            for field in per_row:
                if field.attname not in row:
                    values[field.attname] = now if not field.has_default() else field.get_default()
            copy.write_row(
                [
                    Jsonb(values[field.attname])
                    if isinstance(field, models.JSONField)
                    else field.get_db_prep_save(values[field.attname], connection)
                    for field in fields
                ]
            )
    return len(rows)
