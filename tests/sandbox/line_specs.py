"""LINE's OpenAPI files, for checking what the sandbox answers and sends.

They live beside the repository (``../shared/line-openapi``) unless ``LINE_OPENAPI_DIR`` says
otherwise; missing files fail the tests instead of skipping the checks.
"""

import functools
import os
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

REPO_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def spec(name: str) -> dict[str, Any]:
    directory = Path(
        os.environ.get("LINE_OPENAPI_DIR") or REPO_ROOT.parent / "shared" / "line-openapi"
    )
    path = directory / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: set LINE_OPENAPI_DIR to LINE's OpenAPI files")
    return yaml.safe_load(path.read_text())


def schema_validate(name: str, schema: dict[str, Any], instance: Any) -> None:
    """Validate ``instance`` against ``schema`` (often a ``$ref``) of spec file ``name``."""
    OAS30Validator({**schema, "components": spec(name)["components"]}).validate(instance)
