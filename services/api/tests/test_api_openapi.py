"""The OpenAPI document is complete: response models, error schemas and examples everywhere."""

from __future__ import annotations

import json
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


def models_of(document: dict[str, Any], media: dict[str, Any]) -> list[dict[str, Any]]:
    """The response's model, or each model of a union of them."""
    branches = media["schema"].get("anyOf", [media["schema"]])
    return [schema_of(document, {"schema": branch}) for branch in branches]


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
            for model in models_of(document, media):
                assert model.get("properties"), (method, path, code)
                assert media.get("examples") or model.get("examples"), (method, path, code)


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            assert has_example(document, media), (method, path)


# Answered from the process's memory: Redis being down cannot fail them.
NO_REDIS = {"/api/v1/jobs", "/api/v1/schedules/preview"}


def test_errors_are_documented_with_the_envelope(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        expected = {"401", "403"} if path in NO_REDIS else {"401", "403", "503"}
        if "requestBody" in operation or operation.get("parameters"):
            expected.add("422")
        if "requestBody" in operation:
            expected |= {"413", "415"}
        if "{" in path:
            expected.add("404")
        assert expected <= set(responses), (method, path, sorted(responses))
        for code in expected:
            media = responses[code]["content"]["application/json"]
            assert media["schema"]["$ref"].endswith("/ErrorResponse"), (method, path, code)
            assert all(e["value"]["error"]["code"] for e in media["examples"].values()), (
                method,
                path,
                code,
            )
        if "requestBody" in operation:
            examples = responses["422"]["content"]["application/json"]["examples"]
            assert "malformed_body" in examples, (method, path)


def test_examples_match_their_schemas(document: dict[str, Any]) -> None:
    checked = 0
    for name, schema in document["components"]["schemas"].items():
        root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        for example in schema.get("examples", []):
            jsonschema.validate(example, root, cls=jsonschema.Draft202012Validator)
            checked += 1
    assert checked >= 10


def _value_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema for its values, inside a nullable anyOf if there is one."""
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    return {**schema, **branches[0]} if branches else schema


@pytest.mark.parametrize(
    ("model", "field", "bounds"),
    [
        ("ScheduleSpec", "priority", (0, 9)),
        ("ScheduleSpec", "expires_s", (1, 366 * 86_400)),
        ("ScheduleSpec", "jitter_s", (0, 3_600)),
        ("ScheduleSpec", "max_instances", (1, 100)),
        ("IntervalTrigger", "every", (1, 366 * 86_400)),
        ("Misfire", "grace_s", (0, 7 * 86_400)),
        ("TaskSubmission", "countdown", (0, 7 * 86_400)),
        ("TaskSubmission", "priority", (0, 9)),
        ("SchedulePatch", "expires_s", (1, 366 * 86_400)),
    ],
)
def test_the_bounds_are_in_the_schema(
    document: dict[str, Any], model: str, field: str, bounds: tuple[int, int]
) -> None:
    schema = _value_schema(document["components"]["schemas"][model]["properties"][field])
    assert (schema["minimum"], schema["maximum"]) == bounds
    assert f"{bounds[1]:,}" in schema["description"]


def test_crontab_fields_say_their_size_and_dates_their_window(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["CrontabTrigger"]["properties"]["minute"]["maxLength"] == 256
    start_at = json.dumps(schemas["ScheduleSpec"]["properties"]["start_at"])
    assert "1970" in start_at and "3000" in start_at
    assert "localtime" in schemas["CrontabTrigger"]["properties"]["timezone"]["description"]


def test_patch_shows_null_only_where_a_field_can_be_unset(document: dict[str, Any]) -> None:
    patch = document["components"]["schemas"]["SchedulePatch"]
    assert not patch.get("required")
    nullable = {
        name
        for name, schema in patch["properties"].items()
        if {"type": "null"} in schema.get("anyOf", [])
    }
    assert nullable == {"queue", "priority", "start_at", "end_at", "expires_s"}
    assert set(patch["properties"]) == set(
        document["components"]["schemas"]["ScheduleSpec"]["properties"]
    )


def test_deleting_documents_the_static_conflict(document: dict[str, Any]) -> None:
    responses = document["paths"]["/api/v1/schedules/{schedule_id}"]["delete"]["responses"]
    assert "409" in responses


def test_a_schedule_that_no_longer_decodes_has_a_shape_of_its_own(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    media = document["paths"]["/api/v1/schedules/{schedule_id}"]["get"]["responses"]["200"]
    shapes = {m["title"]: m for m in models_of(document, media["content"]["application/json"])}
    assert set(shapes) == {"ScheduleOut", "UndecodableScheduleOut"}
    undecodable = shapes["UndecodableScheduleOut"]
    assert {"stored_definition", "set_aside_reason", "state"} <= set(undecodable["required"])
    assert undecodable["properties"]["state"]["const"] == "set_aside"
    assert "task" not in undecodable["properties"]
    # A schedule that decodes keeps its definition's fields as they are: none became nullable.
    out = shapes["ScheduleOut"]
    assert {"name", "task", "trigger"} <= set(out["required"])
    assert "anyOf" not in out["properties"]["task"]
    items = schemas["SchedulePage"]["properties"]["items"]["items"]["anyOf"]
    assert [b["$ref"].split("/")[-1] for b in items] == ["ScheduleOut", "UndecodableScheduleOut"]
    for path, method in [
        ("/api/v1/schedules/{schedule_id}", "put"),
        ("/api/v1/schedules/{schedule_id}/pause", "post"),
        ("/api/v1/schedules/{schedule_id}/resume", "post"),
        ("/api/v1/schedules/{schedule_id}/run", "post"),
    ]:
        assert "409" in document["paths"][path][method]["responses"], (path, method)
