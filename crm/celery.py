import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _database_connections_check(task=None, **kwargs):
    """Drop connections that are broken or past CONN_MAX_AGE, as Django does per request.

    Celery keeps connections across tasks (CELERY_DB_REUSE_MAX), which skips Django's check.
    """
    from django.db import close_old_connections

    if task is not None and getattr(task.request, "is_eager", False):
        return  # run inline by the caller, inside the caller's transaction
    close_old_connections()
