"""Settings are read at import, so each case runs Django in a fresh process with its own env."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DUMP = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": db["ENGINE"], "db_name": str(db["NAME"]),
    "broker": settings.CELERY_BROKER_URL,
    "secret_key": settings.SECRET_KEY,
    "api": settings.LINE_PLATFORMS["sandbox"]["api"],
    "time_zone": settings.TIME_ZONE, "use_tz": settings.USE_TZ,
    "languages": [code for code, _ in settings.LANGUAGES],
}))
"""


def run_django(code_or_args, *, env, tmp_path):
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    clean.update({"DJANGO_SETTINGS_MODULE": "crm.settings", "CRM_VAR_DIR": str(tmp_path)}, **env)
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def dump(env, tmp_path):
    result = run_django(DUMP, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_nothing_set_it_runs_on_the_embedded_default(tmp_path):
    values = dump({}, tmp_path)

    assert values["debug"] is True
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(tmp_path / "crm.sqlite3")
    assert values["broker"] == "filesystem://"
    assert values["api"] == "http://127.0.0.1:8001"
    assert values["time_zone"] == "Asia/Tokyo" and values["use_tz"] is True
    assert values["languages"] == ["ja", "en"]
    assert len(values["secret_key"]) >= 50
    # Generated once, then kept: sessions survive a restart.
    assert dump({}, tmp_path)["secret_key"] == values["secret_key"]


def test_environment_variables_select_postgresql_redis_and_the_sandbox_url(tmp_path):
    values = dump(
        {
            "DATABASE_URL": "postgres://crm:pw@db.internal:5432/crm_prod",
            "CELERY_BROKER_URL": "redis://cache.internal:6379/0",
            "LINE_SANDBOX_URL": "http://sandbox.internal:9000/",
        },
        tmp_path,
    )

    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "crm_prod"
    assert values["broker"] == "redis://cache.internal:6379/0"
    assert values["api"] == "http://sandbox.internal:9000"


GOOD_KEY = "k3y-" + "".join(chr(33 + (i * 7) % 90) for i in range(60))


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": GOOD_KEY, "DEBUG": "true"}, "DEBUG must be off"),
    ],
)
def test_production_refuses_to_start_without_a_real_key_or_with_debug(tmp_path, env, complaint):
    result = run_django(
        ["manage.py", "check"], env={"CRM_ENV": "production", **env}, tmp_path=tmp_path
    )

    assert result.returncode != 0
    assert complaint in result.stderr


def test_production_settings_pass_the_deployment_checklist(tmp_path):
    result = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={"CRM_ENV": "production", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "crm.example.jp"},
        tmp_path=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
