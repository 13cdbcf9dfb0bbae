"""Check requests against LINE's own OpenAPI description of the platform.

The specs live in the shared folder beside the repository (``../shared/line-openapi``, also in
CI); ``LINE_OPENAPI_DIR`` overrides that. A missing folder is an error, not a skip: a test that
silently stops checking the wire format would be worse than no test.

``SpecCheckingAdapter`` is a ``requests`` transport adapter: mounted on a client's session it
checks every request the client really sends (method, host, path, parameters, headers, body)
before passing it on, to a real server or to a canned answer. Nothing of the client is mocked.

openapi-core validates bodies only against a polymorphic base schema, so ``{"type": "text"}``
without ``text`` passes there. LINE's schemas are polymorphic through ``discriminator`` +
``mapping`` on the base (Message, Action, FlexComponent...), so this module resolves the
discriminator itself, on top of openapi-schema-validator's OAS 3.0 validator.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import functools
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import yaml
from jsonschema import ValidationError, validators
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from requests.adapters import BaseAdapter, HTTPAdapter

from linebot.endpoints import Host

SPEC_FILES = (
    "messaging-api.yml",
    "manage-audience.yml",
    "insight.yml",
    "channel-access-token.yml",
)
SERVER_HOSTS = {"https://api.line.me": Host.API, "https://api-data.line.me": Host.API_DATA}
REPO_ROOT = Path(__file__).resolve().parents[2]


class SpecViolation(AssertionError):
    """A request the client made does not match LINE's OpenAPI description."""


def spec_dir() -> Path:
    """Where LINE's OpenAPI files are; fails loudly when they are missing."""
    directory = Path(
        os.environ.get("LINE_OPENAPI_DIR") or REPO_ROOT.parent / "shared" / "line-openapi"
    )
    missing = [name for name in SPEC_FILES if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(
            f"LINE's OpenAPI files {missing} are not in {directory}: check out the shared "
            "folder beside the repository or set LINE_OPENAPI_DIR."
        )
    return directory


def _discriminator(
    validator: Any, discriminator: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """Validate an object against the schema its discriminating property maps to."""
    mapping = discriminator.get("mapping")
    if not mapping or not validator.is_type(instance, "object"):
        return
    name = discriminator["propertyName"]
    value = instance.get(name)
    if value not in mapping:
        yield ValidationError(f"{name} {value!r} is not one of {sorted(mapping)}")
        return
    yield from validator.descend(instance, {"$ref": mapping[value]})


_Validator = validators.extend(OAS30Validator, {"discriminator": _discriminator})


def _split_polymorphic_bases(schemas: dict[str, Any]) -> None:
    """Let mapped schemas include their base without re-entering the base's discriminator.

    LINE's ``TextMessage`` is ``allOf: [Message, {...}]`` while ``Message`` dispatches to
    ``TextMessage``: the sub-schemas are pointed at a copy of the base without the dispatch.
    """
    for name, schema in list(schemas.items()):
        mapping = (schema.get("discriminator") or {}).get("mapping")
        if not mapping:
            continue
        base = f"{name}__base"
        schemas[base] = {key: value for key, value in schema.items() if key != "discriminator"}
        for target in mapping.values():
            for part in schemas[target.rsplit("/", 1)[1]].get("allOf", ()):
                if part.get("$ref") == f"#/components/schemas/{name}":
                    part["$ref"] = f"#/components/schemas/{base}"


@dataclass
class Operation:
    """One operation of a spec, with what is needed to match and check a request."""

    spec: str
    operation_id: str
    method: str
    template: str
    host: Host
    parameters: list[dict[str, Any]]
    request_body: dict[str, Any] | None
    needs_token: bool
    components: dict[str, Any] = field(repr=False)
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        self.pattern = re.compile(f"^{regex}$")

    def check_schema(self, schema: dict[str, Any], value: Any, where: str) -> None:
        root = {**schema, "components": self.components}
        validator = _Validator(root, format_checker=oas30_format_checker)
        errors = sorted(validator.iter_errors(value), key=lambda error: list(error.path))
        if errors:
            problems = "; ".join(
                f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {_describe(error)}"
                for error in errors
            )
            raise SpecViolation(f"{self.operation_id}: {where} is invalid: {problems}")


class OpenApiSpec:
    """LINE's operations, loaded from the OpenAPI files."""

    def __init__(self, directory: Path) -> None:
        self.operations: list[Operation] = []
        for name in SPEC_FILES:
            document = yaml.safe_load((directory / name).read_text())
            components = copy.deepcopy(document.get("components", {}))
            _split_polymorphic_bases(components.get("schemas", {}))
            default_host = SERVER_HOSTS[document["servers"][0]["url"]]
            for template, item in document["paths"].items():
                shared_parameters = item.get("parameters", [])
                for method, operation in item.items():
                    if method == "parameters":
                        continue
                    servers = operation.get("servers")
                    parameters = {
                        (parameter["name"], parameter["in"]): parameter
                        for parameter in [*shared_parameters, *operation.get("parameters", [])]
                    }
                    self.operations.append(
                        Operation(
                            spec=name,
                            operation_id=operation["operationId"],
                            method=method.upper(),
                            template=template,
                            host=SERVER_HOSTS[servers[0]["url"]] if servers else default_host,
                            parameters=list(parameters.values()),
                            request_body=operation.get("requestBody"),
                            needs_token=bool(operation.get("security", document.get("security"))),
                            components=components,
                        )
                    )

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation for a method and path; literal segments win over parameters."""
        matches = [
            (operation, match.groupdict())
            for operation in self.operations
            if operation.method == method and (match := operation.pattern.match(path))
        ]
        if not matches:
            raise SpecViolation(f"{method} {path} is not an operation of LINE's API")
        return min(matches, key=lambda candidate: len(candidate[1]))

    def check(self, request: requests.PreparedRequest, base_urls: Mapping[Host, str]) -> Operation:
        """Check one prepared request; returns its operation, raises ``SpecViolation``."""
        url = urlsplit(request.url or "")
        method = request.method or ""
        operation, path_values = self.find(method, url.path)
        hosts = {host for host, base in base_urls.items() if (request.url or "").startswith(base)}
        if len(set(base_urls.values())) > 1 and operation.host not in hosts:
            raise SpecViolation(
                f"{operation.operation_id} is served by the {operation.host} host, "
                f"but was sent to {url.netloc}"
            )
        headers = requests.structures.CaseInsensitiveDict(request.headers)
        authorization = headers.get("Authorization", "")
        bearer = authorization.startswith("Bearer ") and authorization[7:].strip()
        if operation.needs_token and not bearer:
            raise SpecViolation(f"{operation.operation_id}: no Bearer channel access token")
        self._check_parameters(operation, path_values, dict(parse_qsl(url.query)), headers)
        self._check_body(operation, headers.get("Content-Type"), request.body)
        return operation

    def _check_parameters(
        self,
        operation: Operation,
        path_values: dict[str, str],
        query: dict[str, str],
        headers: Mapping[str, str],
    ) -> None:
        sources = {"path": path_values, "query": query, "header": headers}
        declared = {(parameter["in"], parameter["name"]) for parameter in operation.parameters}
        for name in query:
            if ("query", name) not in declared:
                raise SpecViolation(f"{operation.operation_id}: unknown query parameter {name!r}")
        if "X-Line-Retry-Key" in headers and ("header", "X-Line-Retry-Key") not in declared:
            raise SpecViolation(f"{operation.operation_id} does not take an X-Line-Retry-Key")
        for parameter in operation.parameters:
            where, name = parameter["in"], parameter["name"]
            raw = sources.get(where, {}).get(name)
            if raw is None:
                if parameter.get("required"):
                    raise SpecViolation(f"{operation.operation_id}: {where} {name!r} missing")
                continue
            schema = parameter.get("schema", {})
            value = _coerce(raw, schema.get("type"), f"{operation.operation_id}: {where} {name}")
            if schema.get("format") == "uuid":
                try:
                    uuid.UUID(raw)
                except ValueError:
                    raise SpecViolation(f"{operation.operation_id}: {name} is no UUID") from None
            operation.check_schema(schema, value, f"{where} parameter {name!r}")

    def _check_body(
        self, operation: Operation, content_type: str | None, body: bytes | str | None
    ) -> None:
        spec = operation.request_body
        if spec is None:
            if body:
                raise SpecViolation(f"{operation.operation_id} takes no request body")
            return
        if not body:
            if spec.get("required"):
                raise SpecViolation(f"{operation.operation_id}: request body missing")
            return
        media = (content_type or "").split(";")[0].strip()
        content = spec["content"]
        if media not in content and "*/*" not in content:
            raise SpecViolation(
                f"{operation.operation_id}: content type {media!r} is not one of {list(content)}"
            )
        raw = body.encode() if isinstance(body, str) else body
        if media == "application/json":
            operation.check_schema(content[media]["schema"], json.loads(raw), "JSON body")
        elif media == "multipart/form-data":
            self._check_multipart(operation, content[media], content_type or "", raw)
        elif media == "application/x-www-form-urlencoded":
            schema = content[media]["schema"]
            fields = {
                name: _coerce(
                    value,
                    schema.get("properties", {}).get(name, {}).get("type"),
                    f"form field {name}",
                )
                for name, value in parse_qsl(raw.decode())
            }
            operation.check_schema(schema, fields, "form body")

    def _check_multipart(
        self, operation: Operation, media: dict[str, Any], content_type: str, raw: bytes
    ) -> None:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        schema = media["schema"]
        parts: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            expected = media.get("encoding", {}).get(name, {}).get("contentType")
            if expected and part.get_content_type() != expected:
                raise SpecViolation(
                    f"{operation.operation_id}: part {name!r} is {part.get_content_type()}, "
                    f"not {expected}"
                )
            text = part.get_payload(decode=True).decode()
            property_schema = schema.get("properties", {}).get(name)
            if property_schema is None:
                raise SpecViolation(f"{operation.operation_id}: unknown form field {name!r}")
            parts[name] = _coerce(text, property_schema.get("type"), f"form field {name}")
        operation.check_schema(schema, parts, "multipart body")


def _describe(error: ValidationError) -> str:
    """jsonschema's message, unless it quotes a huge value: then the rule that failed."""
    if len(error.message) <= 200:
        return error.message
    return f"fails {error.validator} {error.validator_value!r}"


def _coerce(raw: str, kind: str | None, where: str) -> Any:
    """A parameter's text as the JSON type its schema declares."""
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        raise SpecViolation(f"{where}: {raw!r} is not a {kind}") from None
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise SpecViolation(f"{where}: {raw!r} is not a boolean")
        return raw == "true"
    return raw


@functools.cache
def line_spec() -> OpenApiSpec:
    """LINE's API description, loaded once per test run."""
    return OpenApiSpec(spec_dir())


Responder = Callable[[requests.PreparedRequest], requests.Response]


class SpecCheckingAdapter(BaseAdapter):
    """A transport adapter that checks each request against LINE's spec, then sends it.

    ``inner`` sends the request on (a real ``HTTPAdapter`` by default); ``responder`` instead
    answers it in-process. ``operations`` lists the operation ids seen, in order.
    """

    def __init__(
        self,
        *,
        base_urls: Mapping[Host, str],
        responder: Responder | None = None,
        inner: BaseAdapter | None = None,
    ) -> None:
        super().__init__()
        self.base_urls = dict(base_urls)
        self.responder = responder
        self.inner = inner or HTTPAdapter(max_retries=0)
        self.requests: list[requests.PreparedRequest] = []
        self.operations: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        operation = line_spec().check(request, self.base_urls)
        self.requests.append(request)
        self.operations.append(operation.operation_id)
        if self.responder is not None:
            response = self.responder(request)
            response.request = request
            return response
        return self.inner.send(request, **kwargs)

    def close(self) -> None:
        self.inner.close()


def install(client: Any, **kwargs: Any) -> SpecCheckingAdapter:
    """Mount a ``SpecCheckingAdapter`` on a ``LineClient``'s session and return it."""
    adapter = SpecCheckingAdapter(base_urls=client.base_urls, **kwargs)
    client.session.mount("http://", adapter)
    client.session.mount("https://", adapter)
    return adapter
