from django.core.management.base import BaseCommand

from crm.roles import roles_sync


class Command(BaseCommand):
    help = "Create the staff role groups and set their permissions (also runs after migrate)."

    def handle(self, *args, **options):
        for role, count in roles_sync().items():
            self.stdout.write(f"{role}: {count} permissions")
