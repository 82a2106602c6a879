"""The OpenAPI document is complete: response models, error schemas and examples everywhere."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core.auth import generate_secret

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    openapi: dict[str, Any] = create_app(
        ApiSettings(environment="test", jwt_secret=generate_secret())
    ).openapi()
    return openapi


def operations(document: dict[str, Any]) -> list[Operation]:
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in methods.items()
    ]


def schema_of(document: dict[str, Any], media: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = media["schema"]
    if "$ref" in schema:
        resolved: dict[str, Any] = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
        return resolved
    return schema


def has_example(document: dict[str, Any], media: dict[str, Any]) -> bool:
    return bool(media.get("examples") or schema_of(document, media).get("examples"))


def test_every_success_has_a_model_with_an_example(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert len(ops) >= 12
    for method, path, operation in ops:
        success = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        assert success, (method, path)
        for code, response in success.items():
            if code == "204":
                continue
            media = response["content"]["application/json"]
            assert schema_of(document, media).get("properties"), (method, path, code)
            assert has_example(document, media), (method, path, code)


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            assert has_example(document, media), (method, path)


def test_errors_are_documented_with_the_envelope(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        expected = {"401", "403", "503"}
        if "requestBody" in operation or operation.get("parameters"):
            expected.add("422")
        if "requestBody" in operation:
            expected |= {"400", "415"}
        if "{" in path:
            expected.add("404")
        assert expected <= set(responses), (method, path, sorted(responses))
        for code in expected:
            media = responses[code]["content"]["application/json"]
            assert media["schema"]["$ref"].endswith("/ErrorResponse"), (method, path, code)
            (example,) = media["examples"].values()
            assert example["value"]["error"]["code"], (method, path, code)


def test_examples_match_their_schemas(document: dict[str, Any]) -> None:
    checked = 0
    for name, schema in document["components"]["schemas"].items():
        root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        for example in schema.get("examples", []):
            jsonschema.validate(example, root, cls=jsonschema.Draft202012Validator)
            checked += 1
    assert checked >= 10
