"""Audiences: uploaded lists of people, matched against members.

An upload is a CSV or TXT file: one identifier per line, or a CSV whose first column holds it
(a header row naming the column is skipped). Emails and phone numbers are normalised and then
SHA-256 hashed before anything is stored, and the file itself is never kept:

- email: trimmed and lower-cased (LINE publishes no normalisation for emails);
- phone: E.164 (``+818000001234``; a Japanese national number such as ``080-0000-1234``
  becomes ``+8180...``), as LINE does for notification messages;

then the lowercase hex SHA-256 of the UTF-8 text. Members carry the same hashes
(``Member.email_sha256`` / ``phone_sha256``, set with ``contact_hash_email`` and
``contact_hash_phone``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Audience, AudienceEntry, AudienceKind, Member, line_user_id_validator
from .segments import AUDIENCE_MEMBER_FIELDS

__all__ = [
    "MAX_ERRORS_KEPT",
    "MAX_UPLOAD_BYTES",
    "AudienceImport",
    "audience_import",
    "audience_match",
    "contact_hash_email",
    "contact_hash_phone",
    "contact_hashes",
    "email_normalise",
    "phone_normalise",
]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_ERRORS_KEPT = 1000
BATCH = 5000

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HEADER_WORDS = {
    "line_user_id",
    "lineuserid",
    "user_id",
    "userid",
    "customer_id",
    "customerid",
    "external_customer_id",
    "id",
    "email",
    "e-mail",
    "mail",
    "phone",
    "tel",
    "telephone",
    "mobile",
    "phone_number",
}


def email_normalise(value: str) -> str:
    """Trim and lower-case; raise ValueError if it is not an email address."""
    email = value.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValueError(_("not an email address"))
    return email


def phone_normalise(value: str, *, default_country: str = "81") -> str:
    """E.164 (``+818000001234``); a national number (leading 0) is taken as Japanese."""
    raw = value.strip()
    digits = re.sub(r"[\s\-().]", "", raw)
    if digits.startswith("+"):
        number = digits[1:]
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith("0"):
        number = default_country + digits[1:]
    else:
        number = digits
    if not number.isdigit() or not 8 <= len(number) <= 15 or number.startswith("0"):
        raise ValueError(_("not a phone number"))
    return "+" + number


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def contact_hash_email(value: str) -> str:
    """The stored form of an email: SHA-256 of the trimmed, lower-cased address."""
    return _sha256(email_normalise(value))


def contact_hash_phone(value: str) -> str:
    """The stored form of a phone number: SHA-256 of its E.164 form."""
    return _sha256(phone_normalise(value))


def contact_hashes(*, email: str = "", phone: str = "") -> dict[str, str]:
    """``Member`` fields for the contact data a company knows (blank stays blank), e.g.
    ``Member.objects.filter(pk=...).update(**contact_hashes(email=...))``."""
    return {
        "email_sha256": contact_hash_email(email) if email.strip() else "",
        "phone_sha256": contact_hash_phone(phone) if phone.strip() else "",
    }


def _normalise(kind: str, value: str) -> str:
    """The value to store for one row, or ValueError with the reason."""
    if kind == AudienceKind.EMAIL:
        return contact_hash_email(value)
    if kind == AudienceKind.PHONE:
        return contact_hash_phone(value)
    value = value.strip()
    if kind == AudienceKind.LINE_USER_ID:
        try:
            line_user_id_validator(value)
        except ValidationError:
            raise ValueError(_("not a LINE user ID (U and 32 hex digits)")) from None
        return value
    if len(value) > 100:
        raise ValueError(_("longer than 100 characters"))
    return value


@dataclass
class AudienceImport:
    """What an upload did: counts and the rejected rows (line number and reason)."""

    audience: Audience
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return len(self.errors)


def _decoded_lines(upload) -> io.TextIOBase:
    """The upload as text: UTF-8 (with or without BOM), else Shift_JIS (Excel in Japan)."""
    raw = upload.read(MAX_UPLOAD_BYTES + 1) if hasattr(upload, "read") else upload
    if isinstance(raw, str):
        return io.StringIO(raw)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 50 MB."))
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return io.StringIO(codecs.decode(raw, encoding))
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("The file is neither UTF-8 nor Shift_JIS text."))


def audience_import(*, audience: Audience, upload, replace: bool = False) -> AudienceImport:
    """Read an upload into an audience's entries; bad rows are reported, good rows kept.

    ``upload`` is a file object (or bytes/str); it is read once and never stored.
    """
    text = _decoded_lines(upload)
    result = AudienceImport(audience=audience)
    values: dict[str, None] = {}
    reader = csv.reader(text)
    for line_number, row in enumerate(reader, start=1):
        cells = [cell for cell in row if cell.strip()]
        if not cells:
            continue
        cell = cells[0]
        if line_number == 1 and cell.strip().lower().replace(" ", "_") in HEADER_WORDS:
            continue
        result.rows += 1
        try:
            value = _normalise(audience.kind, cell)
        except ValueError as error:
            result.errors.append({"line": line_number, "reason": str(error)})
            continue
        if value in values:
            result.duplicates += 1
            continue
        values[value] = None

    with transaction.atomic():
        if replace:
            audience.entries.all().delete()
        existing = set()
        if not replace and audience.pk:
            existing = set(
                audience.entries.filter(value__in=list(values)).values_list("value", flat=True)
            )
        new = [v for v in values if v not in existing]
        result.duplicates += len(values) - len(new)
        for start in range(0, len(new), BATCH):
            AudienceEntry.objects.bulk_create(
                [AudienceEntry(audience=audience, value=v) for v in new[start : start + BATCH]],
                ignore_conflicts=True,
            )
        result.imported = len(new)
        audience.row_count = result.rows
        audience.invalid_count = result.invalid
        audience.duplicate_count = result.duplicates
        audience.errors = result.errors[:MAX_ERRORS_KEPT]
        audience.save()
        audience_match(audience)
    return result


def audience_match(audience: Audience) -> int:
    """Count the entries that match a member of the channel, and store it with the time."""
    member_field = AUDIENCE_MEMBER_FIELDS[audience.kind]
    members = Member.objects.filter(
        channel_id=audience.channel_id, **{member_field: OuterRef("value")}
    )
    audience.entry_count = audience.entries.count()
    audience.matched_count = audience.entries.filter(Exists(members)).count()
    audience.matched_at = timezone.now()
    audience.save(update_fields=["entry_count", "matched_count", "matched_at"])
    return audience.matched_count
