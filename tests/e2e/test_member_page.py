import datetime as dt

import pytest
from django.utils import timezone

from members.conversations import messages_record_outbound
from members.models import Direction, Member, Message, MessageSource, MessageStatus
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_page_shows_the_conversation_as_a_chat(staff_page, live_server):
    channel = ChannelFactory()
    member = Member.objects.create(
        channel=channel, line_user_id="U" + "a" * 32, display_name="Hanako", friend_status="friend"
    )
    Message.objects.create(
        channel=channel,
        member=member,
        direction=Direction.INBOUND,
        message_type="text",
        payload={"type": "text", "text": "Is the <b>sale</b> still on?"},
        text="Is the <b>sale</b> still on?",
        source=MessageSource.USER,
        status=MessageStatus.RECEIVED,
        created_at=timezone.now() - dt.timedelta(minutes=5),
    )
    messages_record_outbound(
        member=member,
        messages=[
            {"type": "text", "text": "Yes, until Sunday!"},
            {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        ],
        source=MessageSource.AGENT,
        status=MessageStatus.SENT,
    )

    staff_page.goto(f"{live_server.url}/admin/members/member/{member.pk}/change/")

    conversation = staff_page.locator("#conversation")
    entries = conversation.locator(".timeline-entry")
    assert entries.count() == 3
    # The member's words on the left, as text (never as markup or JSON); ours on the right.
    first = entries.nth(0)
    assert "in" in first.get_attribute("class")
    assert first.inner_text().startswith("Is the <b>sale</b> still on?")
    assert "out" in entries.nth(1).get_attribute("class")
    assert "Yes, until Sunday!" in entries.nth(1).inner_text()
    assert "Support agent" in entries.nth(1).inner_text()
    assert entries.nth(2).locator("img").count() == 1
    assert '"type"' not in conversation.inner_text()
