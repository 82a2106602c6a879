"""`/api/v1/jobs`: the catalogue's argument schemas say what the API's validation takes and
refuses, checked by submitting through the API on real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core.queues import TaskName
from sdp_jobs.catalogue import CATALOGUE
from sdp_testing.auth import Token, auth

Schema = dict[str, Any]
URL = "https://a.example"

# Constraint keywords whose violation a test can build from the keyword's value alone.
_BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "enum",
)


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = ApiSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def jobs(client: TestClient, token: Token) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/jobs", headers=auth(token, "viewer"))
    assert response.status_code == 200, response.text
    return {job["name"]: job for job in response.json()["items"]}


def submit(client: TestClient, token: Token, task: str, kwargs: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/tasks",
        json={"task": task, "kwargs": kwargs},
        headers=auth(token, "operator"),
    )


def example(schema: Schema) -> dict[str, Any]:
    """Every property the schema gives an example of; a required one must have one."""
    built = {}
    for name, prop in schema["properties"].items():
        if prop.get("examples"):
            built[name] = prop["examples"][0]
        else:
            assert name not in schema.get("required", []), f"required {name} has no example"
    return built


def value_schema(prop: Schema) -> Schema:
    """The schema of a property's non-null values."""
    branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
    return {**prop, **branches[0]} if branches else prop


def breaking(keyword: str, bound: Any, step: float, sample: Any) -> Any:
    """A value that breaks `keyword: bound` and is otherwise like `sample`."""
    if keyword == "minimum":
        return bound - step
    if keyword == "maximum":
        return bound + step
    if keyword in ("exclusiveMinimum", "exclusiveMaximum"):
        return bound if step == 1 else float(bound)
    # Long enough, and otherwise like the example, so only the length is wrong.
    if keyword == "minLength":
        return (sample or "")[: bound - 1]
    if keyword == "maxLength":
        return (sample or "") + "x" * (bound + 1 - len(sample or ""))
    if keyword == "minItems":
        return (sample or [])[: bound - 1]
    if keyword == "maxItems":
        return (sample * (bound + 1))[: bound + 1]
    assert keyword == "enum", keyword
    return "NOT-" + "-".join(map(str, bound))


def violations(prop: Schema, sample: Any) -> Iterator[tuple[str, Any]]:
    """(keyword, a value breaking it) for each bound the property's schema states."""
    schema = value_schema(prop)
    step = 1 if schema.get("type") == "integer" else 0.5
    for keyword in _BOUNDS:
        if keyword in schema:
            yield keyword, breaking(keyword, schema[keyword], step, sample)


def refused_by_schema(schema: Schema, kwargs: dict[str, Any]) -> bool:
    return not jsonschema.Draft202012Validator(schema).is_valid(kwargs)


def test_the_catalogue_lists_every_job_in_name_order(
    client: TestClient, jobs: dict[str, dict[str, Any]], token: Token
) -> None:
    assert list(jobs) == sorted(name.value for name in TaskName)
    for name, job in jobs.items():
        catalogued = CATALOGUE[name]
        assert job["queue"] == name.split(".", 1)[0]
        assert job["description"] == catalogued.description != ""
        assert job["arguments"] == catalogued.params.model_json_schema()
        assert job["policy"] == asdict(catalogued.policy)
        jsonschema.Draft202012Validator.check_schema(job["arguments"])
    assert jobs["collect.http"]["policy"]["max_retries"] == 5
    assert client.get("/api/v1/jobs").status_code == 401


def test_an_example_built_from_each_schema_is_accepted(
    client: TestClient, jobs: dict[str, dict[str, Any]], token: Token
) -> None:
    for name, job in jobs.items():
        kwargs = example(job["arguments"])
        jsonschema.Draft202012Validator(job["arguments"]).validate(kwargs)
        response = submit(client, token, name, kwargs)
        assert response.status_code == 202, (name, kwargs, response.text)


def test_every_bound_in_a_schema_is_one_the_api_enforces(
    client: TestClient, jobs: dict[str, dict[str, Any]], token: Token
) -> None:
    checked: list[str] = []
    for name, job in jobs.items():
        schema = job["arguments"]
        base = example(schema)
        for field, prop in schema["properties"].items():
            for keyword, bad in violations(prop, base.get(field)):
                kwargs = {**base, field: bad}
                assert refused_by_schema(schema, kwargs), (name, field, keyword)
                response = submit(client, token, name, kwargs)
                assert response.status_code == 422, (name, field, keyword, response.text)
                fields = [f["field"] for f in response.json()["error"]["fields"]]
                assert f"kwargs.{field}" in fields, (name, field, keyword, fields)
                checked.append(f"{name} {field} {keyword}")
    # Every bound the models declare at the top level, so a schema that loses one fails here
    # (a model that gains one raises the count).
    assert len(checked) == 23, checked


@pytest.mark.parametrize(
    ("task", "kwargs", "field"),
    [
        ("collect.http", {"url": "ftp://example.org/orders.csv"}, "kwargs.url"),
        ("collect.http", {"url": URL, "headers": {"Bad Name": "x"}}, "kwargs.headers"),
        ("collect.http", {"url": URL, "headers": {"X-A": "1\r\nX-B: 2"}}, "kwargs.headers"),
        ("collect.http", {"url": URL, "json_body": {}, "body": "x"}, "kwargs"),
        ("etl.transform", {"source": "celery-task-meta-1:x"}, "kwargs.source"),
    ],
    ids=["scheme", "header-name", "header-value", "two-bodies", "not-a-payload"],
)
def test_the_schema_states_the_validators_rules(
    client: TestClient,
    jobs: dict[str, dict[str, Any]],
    token: Token,
    task: str,
    kwargs: dict[str, Any],
    field: str,
) -> None:
    assert refused_by_schema(jobs[task]["arguments"], kwargs)
    response = submit(client, token, task, kwargs)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
