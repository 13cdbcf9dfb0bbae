"""Audiences: normalisation and hashing, bad rows by line number, match rate, file not kept."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from members.audiences import (
    audience_import,
    audience_match,
    contact_hash_email,
    contact_hash_phone,
    contact_hashes,
    email_normalise,
    phone_normalise,
)
from members.models import Audience, AudienceEntry, Member
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def channel():
    return ChannelFactory()


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_email_is_trimmed_and_lowercased_before_hashing():
    assert email_normalise("  Hanako.Yamada@Example.JP ") == "hanako.yamada@example.jp"
    assert contact_hash_email(" Hanako@Example.com") == sha256("hanako@example.com")
    with pytest.raises(ValueError, match="not an email address"):
        email_normalise("hanako at example")


@pytest.mark.parametrize(
    "raw",
    ["080-0000-1234", "08000001234", "+81 80 0000 1234", "+818000001234", "0081-80-0000-1234"],
)
def test_phone_numbers_become_e164_before_hashing(raw):
    assert phone_normalise(raw) == "+818000001234"
    assert contact_hash_phone(raw) == sha256("+818000001234")


@pytest.mark.parametrize("raw", ["12", "phone", "+0123456789", "080-0000-12345-678901"])
def test_what_is_not_a_phone_number_is_refused(raw):
    with pytest.raises(ValueError, match="not a phone number"):
        phone_normalise(raw)


def test_emails_are_stored_only_hashed_and_bad_rows_reported_by_line(channel):
    member = Member.objects.create(
        channel=channel,
        line_user_id="U" + "1" * 32,
        email_sha256=contact_hash_email("hanako@example.com"),
    )
    audience = Audience.objects.create(channel=channel, name="newsletter", kind="email")
    upload = io.BytesIO(
        b"email\nHanako@Example.com\nnot-an-email\n\ntaro@example.com\nhanako@example.com \n"
        b"broken@\n"
    )
    result = audience_import(audience=audience, upload=upload)

    assert result.imported == 2
    assert result.duplicates == 1
    assert result.errors == [
        {"line": 3, "reason": "not an email address"},
        {"line": 7, "reason": "not an email address"},
    ]
    values = set(audience.entries.values_list("value", flat=True))
    assert values == {sha256("hanako@example.com"), sha256("taro@example.com")}
    assert not AudienceEntry.objects.filter(value__contains="@").exists()
    audience.refresh_from_db()
    assert (audience.row_count, audience.entry_count, audience.invalid_count) == (5, 2, 2)
    assert audience.matched_count == 1
    assert audience.match_rate == 0.5
    assert "@" not in str(audience.errors)  # bad rows say where and why, not what
    assert member.email_sha256 in values


def test_phone_audience_matches_hashed_phone_numbers(channel):
    Member.objects.create(
        channel=channel,
        line_user_id="U" + "2" * 32,
        phone_sha256=contact_hash_phone("090-1111-2222"),
    )
    audience = Audience.objects.create(channel=channel, name="callers", kind="phone")
    result = audience_import(
        audience=audience, upload=b"phone,name\n+81 90 1111 2222,Hanako\n03-1234-5678,Shop\nabc,x\n"
    )
    assert result.imported == 2
    assert result.errors == [{"line": 4, "reason": "not a phone number"}]
    audience.refresh_from_db()
    assert audience.matched_count == 1


def test_line_user_ids_and_customer_ids(channel):
    Member.objects.create(channel=channel, line_user_id="U" + "a" * 32)
    Member.objects.create(channel=ChannelFactory(), line_user_id="U" + "b" * 32)
    audience = Audience.objects.create(channel=channel, name="ids", kind="line_user_id")
    result = audience_import(
        audience=audience,
        upload=("U" + "a" * 32 + "\n" + "U" + "b" * 32 + "\nUshort\n").encode(),
    )
    assert result.imported == 2
    assert result.errors == [{"line": 3, "reason": "not a LINE user ID (U and 32 hex digits)"}]
    audience.refresh_from_db()
    assert audience.matched_count == 1  # the other member is of another channel


def test_shift_jis_csv_from_excel_is_read(channel):
    Member.objects.create(
        channel=channel, line_user_id="U" + "3" * 32, external_customer_id="会員1"
    )
    audience = Audience.objects.create(channel=channel, name="会員", kind="customer_id")
    audience_import(audience=audience, upload="会員1\r\n会員2\r\n".encode("cp932"))
    audience.refresh_from_db()
    assert (audience.entry_count, audience.matched_count) == (2, 1)


def test_match_is_counted_again_when_members_arrive(channel):
    audience = Audience.objects.create(channel=channel, name="later", kind="customer_id")
    audience_import(audience=audience, upload=b"C-9\n")
    assert audience.matched_count == 0
    Member.objects.create(channel=channel, line_user_id="U" + "4" * 32, external_customer_id="C-9")
    assert audience_match(audience) == 1


def test_admin_upload_imports_good_rows_reports_bad_ones_and_keeps_no_file(
    admin_client, channel, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    Member.objects.create(
        channel=channel,
        line_user_id="U" + "5" * 32,
        email_sha256=contact_hash_email("a@example.com"),
    )
    upload = SimpleUploadedFile("list.csv", b"a@example.com\nnope\nb@example.com\n", "text/csv")
    response = admin_client.post(
        "/admin/members/audience/add/",
        {"channel": channel.pk, "name": "Spring", "kind": "email", "upload": upload},
        headers={"accept-language": "en"},
        follow=True,
    )
    assert response.status_code == 200
    audience = Audience.objects.get(name="Spring")
    assert (audience.entry_count, audience.invalid_count, audience.matched_count) == (2, 1, 1)
    assert audience.errors == [{"line": 2, "reason": "not an email address"}]
    assert "1 bad rows" in response.content.decode()
    assert not any(tmp_path.rglob("*"))  # nothing written to media

    page = admin_client.get(
        f"/admin/members/audience/{audience.pk}/change/", headers={"accept-language": "en"}
    ).content.decode()
    assert "50.0 %" in page
    assert "<td>2</td><td>not an email address</td>" in page


def test_contact_hashes_for_member_fields():
    assert contact_hashes(email=" A@B.jp", phone="") == {
        "email_sha256": sha256("a@b.jp"),
        "phone_sha256": "",
    }
    assert contact_hashes(phone="090-1234-5678")["phone_sha256"] == sha256("+819012345678")
