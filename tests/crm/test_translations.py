import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "ja" / "LC_MESSAGES" / "django.po"
SKIP = shutil.ignore_patterns(".venv", "var", ".git", "tests", "bench", "node_modules", "*.pyc")


def test_japanese_catalogue_is_complete_and_compiled():
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))

    assert [e.msgid for e in po if not e.translated() or e.obsolete] == []
    compiled = {e.msgid: e.msgstr for e in mo}
    assert {e.msgid: e.msgstr for e in po.translated_entries()}.items() <= compiled.items()


def test_every_translatable_string_in_the_code_is_in_the_catalogue(tmp_path):
    """makemessages, run on a copy of the tree, finds no string the catalogue lacks."""
    copy = tmp_path / "tree"
    shutil.copytree(ROOT, copy, ignore=SKIP)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ja", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        timeout=180,
    )
    found = {e.msgid for e in polib.pofile(str(copy / PO.relative_to(ROOT)))}
    shipped = {e.msgid for e in polib.pofile(str(PO))}

    assert sorted(found - shipped) == []
