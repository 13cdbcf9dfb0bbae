from django.core.management.base import BaseCommand

from crm.demo import demo_setup
from integrations.demo import demo_integration


class Command(BaseCommand):
    help = "Create the demo data (staff users per role, a sandbox channel) and print the logins."

    def handle(self, *args, **options):
        logins, channel = demo_setup()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Open http://127.0.0.1:8000/admin/"))
        for login in logins:
            self.stdout.write(
                f"  {login.role:<16} user: {login.username:<9} password: {login.password}"
            )
        self.stdout.write(f"  Channel '{channel.name}' webhook: {channel.webhook_url}")
        self.stdout.write(
            f"  REST API token for '{channel.name}': {demo_integration(channel)}"
            " (docs: http://127.0.0.1:8000/api/v1/docs/)"
        )
        self.stdout.write("  Members log in with LINE at http://127.0.0.1:8000/accounts/login/")
