import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from linebot.channels import channel_upsert
from linebot.models import Platform


class Command(BaseCommand):
    help = (
        "Create or update a LINE channel by its Messaging API channel ID. Secrets may come from "
        "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN so they stay out of shell history."
    )

    def add_arguments(self, parser):
        parser.add_argument("--channel-id", required=True)
        parser.add_argument("--name")
        parser.add_argument("--channel-secret")
        parser.add_argument("--access-token")
        parser.add_argument("--bot-basic-id")
        parser.add_argument("--bot-user-id")
        parser.add_argument("--platform", choices=Platform.values)
        active = parser.add_mutually_exclusive_group()
        active.add_argument("--active", dest="is_active", action="store_true", default=None)
        active.add_argument("--inactive", dest="is_active", action="store_false")

    def handle(self, *args, **options):
        try:
            channel, created = channel_upsert(
                channel_id=options["channel_id"],
                name=options["name"],
                channel_secret=options["channel_secret"] or os.environ.get("LINE_CHANNEL_SECRET"),
                access_token=options["access_token"] or os.environ.get("LINE_CHANNEL_ACCESS_TOKEN"),
                bot_basic_id=options["bot_basic_id"],
                bot_user_id=options["bot_user_id"],
                platform=options["platform"],
                is_active=options["is_active"],
            )
        except ValidationError as error:
            problems = "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
            )
            raise CommandError(f"Channel {options['channel_id']} not saved: {problems}") from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} channel {channel.channel_id} ({channel.name}).")
        self.stdout.write(f"Webhook URL: {channel.webhook_url}")
