from celery import shared_task

from members.models import Member

from .autoreplies import autoreply_send
from .models import AutoReply


@shared_task(ignore_result=True, acks_late=True)
def send_auto_reply(
    rule_id: int, member_id: int, reply_token: str | None, event_ms: int, event_id: str
) -> None:
    rule = AutoReply.objects.filter(pk=rule_id).first()
    member = Member.objects.select_related("channel").filter(pk=member_id).first()
    if rule and member:
        autoreply_send(
            rule=rule, member=member, reply_token=reply_token, event_ms=event_ms, event_id=event_id
        )
