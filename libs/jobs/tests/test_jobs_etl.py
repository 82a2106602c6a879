"""The ETL transform: parsing and pipeline steps as pure functions, then on a real Redis."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter
from pytest_httpserver import HTTPServer

from sdp_core import keys
from sdp_jobs.catalogue import get_job, run_job
from sdp_jobs.context import JobContext
from sdp_jobs.errors import JobArgumentError, JobError
from sdp_jobs.etl import (
    Record,
    Step,
    TransformParams,
    apply_pipeline,
    columns,
    parse_records,
    transform,
)

STEPS: TypeAdapter[list[Step]] = TypeAdapter(list[Step])

ORDERS_CSV = b"""region,product,qty,price
north,apple,3,1.5
south,pear,10,0.5
north,pear,2,0.75
east,apple,,2
"""

ROWS: list[Record] = [
    {"id": 1, "name": "ada", "age": 36, "tags": ["x", "y"], "user": {"city": "London"}},
    {"id": 2, "name": "bob", "age": "41", "tags": [], "user": {"city": "Paris"}},
    {"id": 3, "name": "cy", "age": None, "user": {}},
]


def run(rows: list[Record], *steps: dict[str, Any]) -> list[Record]:
    return apply_pipeline(rows, STEPS.validate_python(list(steps)))


def store_payload(ctx: JobContext, payload_id: str, body: bytes, content_type: str) -> str:
    key = keys.payload(payload_id)
    ctx.redis.hset(key, mapping={"body": body, "content_type": content_type})
    return key


# Parsing


def test_json_list_of_records() -> None:
    assert parse_records(b'[{"a": 1}, {"a": 2}]', "application/json", "auto", None) == [
        {"a": 1},
        {"a": 2},
    ]


def test_records_path_walks_objects_and_indices() -> None:
    doc = b'{"data": {"pages": [{"items": [{"a": 1}]}]}}'

    records = parse_records(doc, "application/json", "json", "data.pages.0.items")

    assert records == [{"a": 1}]


def test_records_path_not_found() -> None:
    with pytest.raises(JobError, match=r"records_path 'data\.nope' not found"):
        parse_records(b'{"data": {}}', "application/json", "json", "data.nope")


def test_object_without_records_path_says_to_set_it() -> None:
    with pytest.raises(JobError, match="set records_path"):
        parse_records(b'{"data": []}', "application/json", "auto", None)


def test_record_that_is_not_an_object() -> None:
    with pytest.raises(JobError, match="record 1 of the document is int"):
        parse_records(b'[{"a": 1}, 2]', "application/json", "json", None)


@pytest.mark.parametrize("body", [b'[{"a": 1}', b'[{"a": NaN}]', b"\xff\xfe"])
def test_bad_json_is_a_clear_error(body: bytes) -> None:
    with pytest.raises(JobError, match="payload is not"):
        parse_records(body, "application/json", "auto", None)


def test_csv_keeps_text_and_turns_empty_cells_into_null() -> None:
    records = parse_records(ORDERS_CSV, "text/csv; charset=utf-8", "auto", None)

    assert records[0] == {"region": "north", "product": "apple", "qty": "3", "price": "1.5"}
    assert records[3]["qty"] is None


def test_csv_byte_order_mark_and_latin1_charset() -> None:
    assert parse_records(b"\xef\xbb\xbfa\n1\n", "text/csv", "csv", None) == [{"a": "1"}]
    assert parse_records(b"name\ncaf\xe9\n", "text/csv; charset=latin-1", "csv", None) == [
        {"name": "café"}
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "no header row"),
        (b"a,a\n1,2\n", "repeats a column"),
        (b"a,b\n1,2,3\n", "line 2 has more fields"),
        (b'a,b\n"1"x,2\n', "not valid CSV"),
    ],
)
def test_bad_csv_is_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(JobError, match=message):
        parse_records(body, "text/csv", "csv", None)


@pytest.mark.parametrize(
    ("body", "content_type", "first"),
    [
        (b'[{"a": "1"}]', "text/plain", {"a": "1"}),
        (b"a\n1\n", "text/plain", {"a": "1"}),
        (b"a\n1\n", "application/csv", {"a": "1"}),
        (b'  {"r": [{"a": "1"}]}', "", {"a": "1"}),
    ],
)
def test_auto_format_from_content_type_then_first_character(
    body: bytes, content_type: str, first: Record
) -> None:
    path = "r" if body.strip().startswith(b"{") else None
    assert parse_records(body, content_type, "auto", path)[0] == first


def test_records_path_on_csv_is_refused() -> None:
    with pytest.raises(JobError, match="records_path applies to JSON"):
        parse_records(b"a\n1\n", "text/csv", "auto", "x")


# Steps


def test_select_keeps_fields_in_order_and_reads_dotted_paths() -> None:
    assert run(ROWS, {"step": "select", "fields": ["user.city", "name", "missing"]})[0] == {
        "user.city": "London",
        "name": "ada",
        "missing": None,
    }


@pytest.mark.parametrize(
    ("op", "field", "value", "ids"),
    [
        ("eq", "name", "bob", [2]),
        ("eq", "age", 41, [2]),
        ("ne", "name", "bob", [1, 3]),
        ("gt", "age", 36, [2]),
        ("ge", "age", "36", [1, 2]),
        ("lt", "age", 40, [1]),
        ("le", "name", "bob", [1, 2]),
        ("in", "name", ["ada", "cy"], [1, 3]),
        ("in", "id", ["2", 3], [2, 3]),
        ("contains", "tags", "y", [1]),
        ("contains", "name", "d", [1]),
        ("exists", "age", None, [1, 2]),
        ("exists", "age", False, [3]),
        ("eq", "user.city", "Paris", [2]),
    ],
)
def test_filter_ops(op: str, field: str, value: Any, ids: list[int]) -> None:
    kept = run(ROWS, {"step": "filter", "field": field, "op": op, "value": value})

    assert [row["id"] for row in kept] == ids


def test_filter_compares_numeric_text_as_numbers() -> None:
    rows = parse_records(ORDERS_CSV, "text/csv", "csv", None)

    # As text "10" < "9"; as numbers it is not.
    kept = run(rows, {"step": "filter", "field": "qty", "op": "gt", "value": 9})

    assert [row["product"] for row in kept] == ["pear"]


def test_equality_of_two_strings_is_textual() -> None:
    rows: list[Record] = [{"zip": "01234"}, {"zip": "1234"}]

    assert run(rows, {"step": "filter", "field": "zip", "value": "1234"}) == [{"zip": "1234"}]
    assert run(rows, {"step": "filter", "field": "zip", "value": 1234}) == rows


def test_rename() -> None:
    renamed = run([{"a": 1, "b": 2}], {"step": "rename", "mapping": {"a": "x"}})

    assert renamed == [{"x": 1, "b": 2}]


def test_aggregate_groups_csv_numbers() -> None:
    rows = parse_records(ORDERS_CSV, "text/csv", "csv", None)

    out = run(
        rows,
        {
            "step": "aggregate",
            "by": ["region"],
            "metrics": {
                "orders": {"op": "count"},
                "with_qty": {"op": "count", "field": "qty"},
                "qty": {"op": "sum", "field": "qty"},
                "avg_price": {"op": "avg", "field": "price"},
                "min_price": {"op": "min", "field": "price"},
                "max_qty": {"op": "max", "field": "qty"},
            },
        },
    )

    assert out == [
        {
            "region": "north",
            "orders": 2,
            "with_qty": 2,
            "qty": 5,
            "avg_price": 1.125,
            "min_price": 0.75,
            "max_qty": 3,
        },
        {
            "region": "south",
            "orders": 1,
            "with_qty": 1,
            "qty": 10,
            "avg_price": 0.5,
            "min_price": 0.5,
            "max_qty": 10,
        },
        {
            "region": "east",
            "orders": 1,
            "with_qty": 0,
            "qty": 0,
            "avg_price": 2.0,
            "min_price": 2,
            "max_qty": None,
        },
    ]


def test_aggregate_without_keys_yields_one_row_even_over_nothing() -> None:
    step = {
        "step": "aggregate",
        "metrics": {"n": {"op": "count"}, "s": {"op": "sum", "field": "x"}},
    }

    assert run([{"x": 1}, {"x": "2.5"}], step) == [{"n": 2, "s": 3.5}]
    assert run([], step) == [{"n": 0, "s": 0}]


def test_aggregate_min_max_of_text() -> None:
    step = {"step": "aggregate", "metrics": {"first": {"op": "min", "field": "name"}}}

    assert run(ROWS, step) == [{"first": "ada"}]


def test_sum_of_text_names_the_step_and_value() -> None:
    with pytest.raises(JobError, match=r"pipeline\.1 \(aggregate\): field 'name': 'ada'"):
        run(
            ROWS,
            {"step": "select", "fields": ["name"]},
            {"step": "aggregate", "metrics": {"s": {"op": "sum", "field": "name"}}},
        )


def test_steps_chain_and_columns_follow_first_seen_order() -> None:
    out = run(
        ROWS,
        {"step": "filter", "field": "age", "op": "exists"},
        {"step": "select", "fields": ["name", "age"]},
        {"step": "rename", "mapping": {"name": "who"}},
    )

    assert out == [{"who": "ada", "age": 36}, {"who": "bob", "age": "41"}]
    assert columns([*out, {"extra": 1}]) == ["who", "age", "extra"]


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"step": "explode"}, "pipeline.0"),
        ({"step": "select", "fields": []}, "pipeline.0.select.fields"),
        ({"step": "filter", "field": "a", "op": "like"}, "pipeline.0.filter.op"),
        ({"step": "filter", "field": "a", "op": "in", "value": 3}, "pipeline.0.filter.value"),
        ({"step": "filter", "field": "a", "op": "gt"}, "pipeline.0.filter.value"),
        ({"step": "filter", "field": "a", "color": "red"}, "pipeline.0.filter.color"),
        ({"step": "rename", "mapping": {"a": "x", "b": "x"}}, "pipeline.0.rename.mapping"),
        (
            {"step": "aggregate", "metrics": {"m": {"op": "sum"}}},
            "pipeline.0.aggregate.metrics.m",
        ),
        (
            {"step": "aggregate", "by": ["n"], "metrics": {"n": {"op": "count"}}},
            "pipeline.0.aggregate",
        ),
    ],
)
def test_bad_pipeline_step_names_the_field(step: dict[str, Any], field: str) -> None:
    with pytest.raises(JobArgumentError) as raised:
        get_job("etl.transform").validate(["p1"], {"pipeline": [step]})

    assert [name for name, _ in raised.value.fields] == [field]


def test_source_must_be_a_payload() -> None:
    with pytest.raises(JobArgumentError) as raised:
        get_job("etl.transform").validate([keys.etl_output("x")])

    assert raised.value.fields[0][0] == "source"


# On Redis


def test_transform_stores_rows_with_ttl(ctx: JobContext) -> None:
    store_payload(ctx, "p1", ORDERS_CSV, "text/csv")
    pipeline = [{"step": "filter", "field": "product", "value": "pear"}]

    result = run_job(ctx, "etl.transform", ["p1", pipeline])

    assert result == {
        "rows_in": 4,
        "rows_out": 2,
        "output_key": keys.etl_output("task-1"),
        "columns": ["region", "product", "qty", "price"],
    }
    stored = json.loads(ctx.redis.get(keys.etl_output("task-1")) or "")
    assert [row["region"] for row in stored] == ["south", "north"]
    assert 0 < ctx.redis.ttl(keys.etl_output("task-1")) <= ctx.payload_ttl_s


def test_missing_payload_names_the_key(ctx: JobContext) -> None:
    with pytest.raises(JobError, match=f"payload {keys.payload('gone')} not found"):
        run_job(ctx, "etl.transform", kwargs={"source": "gone"})


def test_collect_then_transform(ctx: JobContext, httpserver: HTTPServer) -> None:
    doc = {"data": {"orders": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 5}, {"sku": "a"}]}}
    httpserver.expect_request("/orders").respond_with_json(doc)
    collected = run_job(
        JobContext(ctx.redis, task_id="collect-1"),
        "collect.http",
        [httpserver.url_for("/orders")],
    )

    result = transform(
        JobContext(ctx.redis, task_id="etl-1"),
        TransformParams.model_validate(
            {
                "source": collected["payload_key"],
                "records_path": "data.orders",
                "pipeline": [
                    {
                        "step": "aggregate",
                        "by": ["sku"],
                        "metrics": {"qty": {"op": "sum", "field": "qty"}, "n": {"op": "count"}},
                    }
                ],
            }
        ),
    )

    assert result["rows_in"] == 3
    assert result["columns"] == ["sku", "qty", "n"]
    assert json.loads(ctx.redis.get(result["output_key"]) or "") == [
        {"sku": "a", "qty": 2, "n": 2},
        {"sku": "b", "qty": 5, "n": 1},
    ]
