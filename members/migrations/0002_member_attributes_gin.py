from django.db import migrations


def create(apps, schema_editor):
    # Segment rules query custom attributes by key and value; jsonb_path_ops answers @> fast.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS member_attributes_gin "
            "ON members_member USING gin (attributes jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS member_attributes_gin")


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
