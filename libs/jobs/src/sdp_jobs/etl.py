"""The ETL transform: parse a collected payload into records and run a declarative pipeline."""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import uuid
from collections.abc import Callable, Sequence
from email.message import Message
from typing import Annotated, Any, Literal, Self, TypedDict

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sdp_core import keys
from sdp_jobs.context import JobContext
from sdp_jobs.errors import JobError

__all__ = [
    "AggregateStep",
    "FilterStep",
    "Metric",
    "Record",
    "RenameStep",
    "SelectStep",
    "Step",
    "TransformParams",
    "TransformResult",
    "apply_pipeline",
    "columns",
    "parse_records",
    "transform",
]

Record = dict[str, Any]
Format = Literal["auto", "json", "csv"]
# A top-level key, or a dotted path through nested objects and list indices ("user.tags.0").
FieldPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="A field, or a dotted path through objects and list indices (`user.tags.0`).",
    ),
]

_MISSING: Any = object()


def _lookup(doc: Any, path: str) -> Any:
    """The value at a dotted path, or _MISSING; a key that itself holds dots wins."""
    if isinstance(doc, dict) and path in doc:
        return doc[path]
    node = doc
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _field(row: Record, path: str) -> Any:
    value = _lookup(row, path)
    return None if value is _MISSING else value


def _num(value: Any) -> int | float | None:
    """The number a value stands for (CSV cells are text), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    # float() also takes "1_000", "nan" and "inf", which no data source means as numbers.
    if not isinstance(value, str) or "_" in value:
        return None
    for parse in (int, float):
        try:
            number: int | float = parse(value)
        except ValueError:
            continue
        return number if math.isfinite(number) else None
    return None


def _eq(a: Any, b: Any) -> bool:
    # Two strings compare as written: "01234" and "1234" are different postcodes.
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    na, nb = _num(a), _num(b)
    return na == nb if na is not None and nb is not None else bool(a == b)


def _cmp(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 for values that order (two numbers, two strings), else None."""
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        a, b = na, nb
    elif not (isinstance(a, str) and isinstance(b, str)):
        return None
    return int(a > b) - int(a < b)


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return b in a
    return isinstance(a, list) and any(_eq(item, b) for item in a)


def _ordered(a: Any, b: Any, want: Callable[[int], bool]) -> bool:
    c = _cmp(a, b)
    return c is not None and want(c)


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "gt": lambda a, b: _ordered(a, b, lambda c: c > 0),
    "ge": lambda a, b: _ordered(a, b, lambda c: c >= 0),
    "lt": lambda a, b: _ordered(a, b, lambda c: c < 0),
    "le": lambda a, b: _ordered(a, b, lambda c: c <= 0),
    "in": lambda a, b: any(_eq(a, item) for item in b),
    "contains": _contains,
    "exists": lambda a, b: (a is not None) == (b is not False),
}


def _numbers(values: list[Any], field: str) -> list[int | float]:
    numbers = [_num(v) for v in values]
    for value, number in zip(values, numbers, strict=True):
        if number is None:
            raise JobError(f"field {field!r}: {value!r} is not a number")
    return [n for n in numbers if n is not None]


def _extreme(pick: Callable[..., Any], values: list[Any], field: str) -> Any:
    numbers = [_num(v) for v in values]
    try:
        return pick(numbers if None not in numbers else values, default=None)
    except TypeError:
        raise JobError(f"field {field!r} holds values that do not compare") from None


def _avg(values: list[Any], field: str) -> float | None:
    numbers = _numbers(values, field)
    return sum(numbers) / len(numbers) if numbers else None


_METRICS: dict[str, Callable[[list[Any], str], Any]] = {
    "count": lambda values, _: len(values),
    "sum": lambda values, field: sum(_numbers(values, field)),
    "avg": _avg,
    "min": lambda values, field: _extreme(min, values, field),
    "max": lambda values, field: _extreme(max, values, field),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SelectStep(_Model):
    step: Literal["select"]
    fields: list[FieldPath] = Field(
        min_length=1, description="The fields each row keeps, in this order (missing: null)."
    )

    def apply(self, rows: list[Record]) -> list[Record]:
        return [{name: _field(row, name) for name in self.fields} for row in rows]


class FilterStep(_Model):
    step: Literal["filter"]
    field: FieldPath
    op: Literal["eq", "ne", "gt", "ge", "lt", "le", "in", "contains", "exists"] = "eq"
    # Validated even when left out, so "gt" without a value is refused.
    value: JsonValue = Field(
        None,
        validate_default=True,
        description=(
            "What the field is compared with: a list for `in`; a number or a string for `gt`, "
            "`ge`, `lt` and `le`; true, false or nothing for `exists`."
        ),
    )

    @field_validator("value")
    @classmethod
    def _fits_op(cls, value: JsonValue, info: ValidationInfo) -> JsonValue:
        op = info.data.get("op")
        if op == "in" and not isinstance(value, list):
            raise ValueError("op 'in' needs a list")
        if op == "exists" and value not in (None, True, False):
            raise ValueError("op 'exists' takes true, false or nothing")
        if op in ("gt", "ge", "lt", "le") and (value is None or isinstance(value, dict | list)):
            raise ValueError(f"op {op!r} needs a number or a string")
        return value

    def apply(self, rows: list[Record]) -> list[Record]:
        test = _TESTS[self.op]
        return [row for row in rows if test(_field(row, self.field), self.value)]


class RenameStep(_Model):
    step: Literal["rename"]
    mapping: dict[str, FieldPath] = Field(
        min_length=1, description="Old name to new name; no two fields renamed to one name."
    )

    @field_validator("mapping")
    @classmethod
    def _distinct(cls, value: dict[str, str]) -> dict[str, str]:
        if len(set(value.values())) != len(value):
            raise ValueError("two fields renamed to one name")
        return value

    def apply(self, rows: list[Record]) -> list[Record]:
        return [{self.mapping.get(k, k): v for k, v in row.items()} for row in rows]


class Metric(_Model):
    op: Literal["count", "sum", "avg", "min", "max"]
    field: FieldPath | None = Field(
        None, description="Needed by every op but `count`, which counts rows without one."
    )

    @model_validator(mode="after")
    def _needs_field(self) -> Self:
        if self.field is None and self.op != "count":
            raise ValueError(f"op {self.op!r} needs a field")
        return self

    def compute(self, rows: list[Record]) -> Any:
        """count with no field counts rows; with a field, every metric skips null values."""
        if self.field is None:
            return len(rows)
        values = [v for row in rows if (v := _field(row, self.field)) is not None]
        return _METRICS[self.op](values, self.field)


class AggregateStep(_Model):
    step: Literal["aggregate"]
    by: list[FieldPath] = Field(
        default_factory=list, description="Group keys; none makes one group of every row."
    )
    metrics: dict[str, Metric] = Field(
        min_length=1, description="Output column to metric; no name of a group key."
    )

    @model_validator(mode="after")
    def _names_distinct(self) -> Self:
        if clash := sorted(set(self.by) & set(self.metrics)):
            raise ValueError(f"metric names repeat group keys: {clash}")
        return self

    def apply(self, rows: list[Record]) -> list[Record]:
        groups: dict[str, tuple[list[Any], list[Record]]] = {}
        # Like SQL, an aggregate with no group keys yields one row even over no input.
        if not self.by:
            groups["[]"] = ([], [])
        for row in rows:
            values = [_field(row, name) for name in self.by]
            # JSON text as the group key, since values may be lists or objects (unhashable).
            key = json.dumps(values, sort_keys=True)
            groups.setdefault(key, (values, []))[1].append(row)
        return [
            dict(zip(self.by, values, strict=True))
            | {name: metric.compute(members) for name, metric in self.metrics.items()}
            for values, members in groups.values()
        ]


Step = Annotated[SelectStep | FilterStep | RenameStep | AggregateStep, Field(discriminator="step")]


class TransformParams(_Model):
    source: str = Field(
        min_length=1,
        max_length=300,
        description="The `payload_key` a collect.http result names, or the id after its prefix.",
        examples=[f"{keys.PAYLOAD_PREFIX}0b5c6f0e-2d53-4c34-9d0c-8f7d1c1f2a10"],
        # `_payload_only`'s rule: no colon, or the payload prefix.
        json_schema_extra={"pattern": f"^(?:{keys.PAYLOAD_PREFIX}|[^:]*$)"},
    )
    pipeline: list[Step] = Field(
        default_factory=list,
        max_length=100,
        description="Steps run in order over the records (at most 100).",
        examples=[
            [
                {"step": "filter", "field": "status", "value": "paid"},
                {"step": "aggregate", "by": ["country"], "metrics": {"orders": {"op": "count"}}},
            ]
        ],
    )
    format: Format = Field(
        "auto", description="`auto` reads the content type, then the payload's first character."
    )
    records_path: FieldPath | None = Field(
        None, description="Where a JSON document keeps its list of records (`data.items`)."
    )

    @field_validator("source")
    @classmethod
    def _payload_only(cls, value: str) -> str:
        if ":" in value and not value.startswith(keys.PAYLOAD_PREFIX):
            raise ValueError(f"not a payload key ({keys.PAYLOAD_PREFIX}…) nor a payload id")
        return value


class TransformResult(TypedDict):
    rows_in: int
    rows_out: int
    output_key: str
    columns: list[str]


def transform(ctx: JobContext, params: TransformParams) -> TransformResult:
    """Parse a collected payload and run a declarative pipeline over its records."""
    source = params.source
    key = source if source.startswith(keys.PAYLOAD_PREFIX) else keys.payload(source)
    body, content_type = ctx.redis.hmget(key, ["body", "content_type"])
    if body is None:
        raise JobError(f"payload {key} not found: it expired or was never collected")
    if isinstance(body, str):
        body = body.encode()
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")

    rows = parse_records(body, content_type or "", params.format, params.records_path)
    out = apply_pipeline(rows, params.pipeline)
    output_key = keys.etl_output(ctx.task_id or uuid.uuid4().hex)
    ctx.redis.set(output_key, json.dumps(out, separators=(",", ":")), ex=ctx.payload_ttl_s)
    return {
        "rows_in": len(rows),
        "rows_out": len(out),
        "output_key": output_key,
        "columns": columns(out),
    }


def apply_pipeline(rows: list[Record], steps: Sequence[Step]) -> list[Record]:
    """Run each step over the rows in turn; an error names the step that failed."""
    for index, step in enumerate(steps):
        try:
            rows = step.apply(rows)
        except JobError as exc:
            raise JobError(f"pipeline.{index} ({step.step}): {exc}") from None
    return rows


def columns(rows: list[Record]) -> list[str]:
    """Every field name in the rows, in first-seen order."""
    return list(dict.fromkeys(name for row in rows for name in row))


def parse_records(
    body: bytes, content_type: str, fmt: Format, records_path: str | None
) -> list[Record]:
    """The records in a payload; ``fmt`` "auto" reads the content type, then the first character."""
    text = _decode(body, content_type)
    if fmt == "auto":
        fmt = _sniff(content_type, text)
    if fmt == "json":
        return _json_records(text, records_path)
    if records_path is not None:
        raise JobError("records_path applies to JSON, but the payload is CSV")
    return _csv_records(text)


def _decode(body: bytes, content_type: str) -> str:
    header = Message()
    header["content-type"] = content_type
    charset = header.get_content_charset() or "utf-8"
    try:
        # utf-8-sig drops the byte-order mark spreadsheet exports put before the CSV header.
        codec = "utf-8-sig" if codecs.lookup(charset).name == "utf-8" else charset
        return body.decode(codec)
    except (LookupError, UnicodeDecodeError) as exc:
        raise JobError(f"payload is not {charset} text: {exc}") from None


def _sniff(content_type: str, text: str) -> Format:
    media = content_type.split(";", 1)[0].strip().lower()
    if "json" in media:
        return "json"
    if "csv" in media:
        return "csv"
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_records(text: str, records_path: str | None) -> list[Record]:
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise JobError(f"payload is not valid JSON: {exc}") from None
    node = doc if records_path is None else _lookup(doc, records_path)
    where = "the document" if records_path is None else f"records_path {records_path!r}"
    if node is _MISSING:
        raise JobError(f"{where} not found in the document")
    if not isinstance(node, list):
        hint = "; set records_path to the list" if records_path is None else ""
        raise JobError(f"{where} holds {type(node).__name__}, not a list of records{hint}")
    for index, item in enumerate(node):
        if not isinstance(item, dict):
            raise JobError(f"record {index} of {where} is {type(item).__name__}, not an object")
    return node


def _csv_records(text: str) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames
        if not header:
            raise JobError("CSV payload has no header row")
        if len(set(header)) != len(header):
            raise JobError(f"CSV header repeats a column: {list(header)}")
        rows: list[Record] = []
        for row in reader:
            if None in row:
                raise JobError(f"CSV line {reader.line_num} has more fields than the header")
            # An empty cell is CSV's only way to say null.
            rows.append({name: value or None for name, value in row.items()})
    except csv.Error as exc:
        raise JobError(f"payload is not valid CSV (line {reader.line_num}): {exc}") from None
    return rows
