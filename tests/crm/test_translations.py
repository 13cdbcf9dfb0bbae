import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def test_japanese_catalogue_is_complete_and_compiled():
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))

    assert [e.msgid for e in po if not e.translated() or e.obsolete] == []
    compiled = {e.msgid: e.msgstr for e in mo}
    assert {e.msgid: e.msgstr for e in po.translated_entries()}.items() <= compiled.items()


def test_every_translatable_string_in_the_code_is_in_the_catalogue(tmp_path):
    """makemessages finds no string the catalogue lacks (it runs on a copy, then is undone)."""
    backup = tmp_path / "django.po"
    shutil.copy(PO, backup)
    try:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                "-l",
                "ja",
                "--no-obsolete",
                "--ignore=.venv",
                "--ignore=var",
                "--ignore=tests",
                "--ignore=bench",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
        found = {e.msgid for e in polib.pofile(str(PO))}
    finally:
        shutil.copy(backup, PO)
    shipped = {e.msgid for e in polib.pofile(str(PO))}

    assert sorted(found - shipped) == []
