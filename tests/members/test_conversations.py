import pytest

from members.conversations import MessagesInvalid, message_send
from members.models import Member, Message, MessageSource
from tests.factories import ChannelFactory


@pytest.mark.django_db
def test_invalid_messages_are_refused_before_anything_is_recorded_or_sent():
    member = Member.objects.create(channel=ChannelFactory(), line_user_id="U" + "9" * 32)
    broken = [{"type": "text", "text": "ok"}, {"type": "image", "originalContentUrl": "http://x"}]

    with pytest.raises(MessagesInvalid) as error:
        message_send(member=member, messages=broken, source=MessageSource.AGENT)

    assert "messages[1]" in str(error.value)
    assert not Message.objects.exists()
