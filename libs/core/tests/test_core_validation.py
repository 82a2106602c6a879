from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from sdp_core.validation import field_errors


class Inner(BaseModel):
    every: int

    @field_validator("every")
    @classmethod
    def _small(cls, value: int) -> int:
        if value > 10:
            raise ValueError("must be at most 10")
        return value


class Outer(BaseModel):
    trigger: Inner


def test_a_validators_message_is_shown_as_it_wrote_it_at_its_dotted_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate({"trigger": {"every": 11}})
    assert field_errors(caught.value, "doc") == [("trigger.every", "must be at most 10")]


def test_pydantics_own_messages_are_kept_and_the_whole_has_a_name() -> None:
    with pytest.raises(ValidationError) as caught:
        Inner.model_validate({"every": "x"})
    assert field_errors(caught.value, "doc") == [
        ("every", "Input should be a valid integer, unable to parse string as an integer")
    ]
    with pytest.raises(ValidationError) as caught:
        Inner.model_validate([])
    assert [field for field, _ in field_errors(caught.value, "doc")] == ["doc"]
