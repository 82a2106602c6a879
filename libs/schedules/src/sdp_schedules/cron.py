"""Five-field crontab expressions parsed into the sets of values they allow."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_LENGTH", "CronField", "CronFieldError", "check_size", "parse_field"]

# Any real expression is far shorter; the cap keeps a request from costing a parse of a
# megabyte.
MAX_LENGTH = 256

_DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


class CronFieldError(ValueError):
    """A crontab field that does not parse; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class CronField:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None

    @property
    def size(self) -> int:
        """How many values the field has, so the most list items that can say anything."""
        return self.high - self.low + 1


MINUTE = CronField("minute", 0, 59)
HOUR = CronField("hour", 0, 23)
DAY_OF_MONTH = CronField("day_of_month", 1, 31)
MONTH_OF_YEAR = CronField("month_of_year", 1, 12, _MONTH_NAMES)
# 7 is accepted as Sunday, as in Vixie cron.
DAY_OF_WEEK = CronField("day_of_week", 0, 7, _DAY_NAMES)


def _value(text: str, field: CronField) -> int:
    lowered = text.lower()
    if field.names and lowered in field.names:
        return field.names[lowered]
    if not text.isdigit():
        raise CronFieldError(f"{text!r} is not a number{' or a name' if field.names else ''}")
    number = int(text)
    if not field.low <= number <= field.high:
        raise CronFieldError(f"{number} is outside {field.low}-{field.high}")
    return number


def _part(part: str, field: CronField) -> set[int]:
    body, _, step_text = part.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronFieldError(f"step {step_text!r} must be a positive whole number")
        step = int(step_text)
    if body == "*":
        start, end = field.low, field.high
    elif "-" in body:
        first, _, last = body.partition("-")
        start, end = _value(first, field), _value(last, field)
        if start > end:
            raise CronFieldError(f"range {body!r} runs backwards")
    else:
        start = _value(body, field)
        # "5/15" means from 5 to the top in steps of 15, as in Vixie cron.
        end = field.high if step_text else start
    return set(range(start, end + 1, step))


def parse_field(expression: str, field: CronField) -> frozenset[int]:
    """The values an expression such as ``*/15`` or ``mon-fri`` allows for a field."""
    text = expression.strip()
    if not text:
        raise CronFieldError("is empty")
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronFieldError(f"{expression!r} has an empty list item")
        values |= _part(part, field)
    if field is DAY_OF_WEEK and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


def check_size(expression: str, field: CronField) -> None:
    """Refuse an expression longer than MAX_LENGTH or with more list items than values."""
    if len(expression) > MAX_LENGTH:
        raise CronFieldError(f"is {len(expression):,} characters long; at most {MAX_LENGTH}")
    items = expression.count(",") + 1
    if items > field.size:
        raise CronFieldError(
            f"has {items:,} list items; at most {field.size}, one per {field.name} value"
        )
