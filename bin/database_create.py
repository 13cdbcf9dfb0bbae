"""Create the PostgreSQL database named by DATABASE_URL if it does not exist yet.

pytest-django creates the test database itself, but connects to this one first.
"""

import os
import sys

import environ
import psycopg
from psycopg import sql

config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
if config["ENGINE"] != "django.db.backends.postgresql":
    sys.exit(0)
params = {
    "host": config.get("HOST") or None,
    "port": config.get("PORT") or None,
    "user": config.get("USER") or None,
    "password": config.get("PASSWORD") or None,
}
with psycopg.connect(dbname="postgres", autocommit=True, **params) as connection:
    exists = connection.execute(
        "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
    ).fetchone()
    if not exists:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
        print(f"==> Created database {config['NAME']}")
