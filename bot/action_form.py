"""Filling an action's fields: what is missing next, and whether a typed value is acceptable.

Pure functions over data, so a form can be continued by any process from what the conversation stored.
Identity fields are taken only from the verified `Identity`: a value the customer typed under the same name
is ignored, whatever it says.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.actions import ActionSpec, FieldSpec, Identity

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FieldCheck(BaseModel):
    """A typed value, or why the customer's words are not one."""

    model_config = ConfigDict(frozen=True)

    value: str | int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FormStep(BaseModel):
    """What to do next: `ask` for `field`, ask the customer to `sign_in`, or `ready` with every value."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["ask", "sign_in", "ready"]
    field: FieldSpec | None = None
    error: str | None = None
    values: dict[str, str | int] = Field(default_factory=dict)


def check_value(field: FieldSpec, raw: object) -> FieldCheck:
    """`raw` as the field's type (dates as ISO text, so the value stays JSON), matched in full against the
    field's pattern; the error says what is wrong in words the bot can repeat."""
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return FieldCheck(error=f"{field.name} is empty")
    value: str | int = text
    if field.type == "integer":
        if not re.fullmatch(r"[+-]?\d+", text):
            return FieldCheck(error=f"{field.name} should be a whole number")
        value = int(text)
    elif field.type == "email" and not _EMAIL.match(text):
        return FieldCheck(error=f"{field.name} should be an email address")
    elif field.type == "date":
        try:
            value = dt.date.fromisoformat(text).isoformat()
        except ValueError:
            return FieldCheck(error=f"{field.name} should be a date like 2026-03-31")
    if field.pattern and not re.fullmatch(field.pattern, text):
        return FieldCheck(error=f"{field.name} does not look right")
    return FieldCheck(value=value)


def identity_values(spec: ActionSpec, identity: Identity) -> dict[str, str | int]:
    """The identity fields' values, from the verified identity only (nothing when it is not verified)."""
    values: dict[str, str | int] = {}
    if not identity.verified:
        return values
    for field in spec.fields:
        if field.source == "identity":
            raw = identity.value(field.claim or field.name)
            if raw is not None and (checked := check_value(field, raw)).ok and checked.value is not None:
                values[field.name] = checked.value
    return values


def next_step(spec: ActionSpec, identity: Identity, collected: Mapping[str, Any]) -> FormStep:
    """The next thing the form needs, in the order the fields are declared.

    `collected` holds what the conversation gathered (earlier answers, values read from messages); its
    entries for identity fields are ignored. An invalid collected value is asked again with its error.
    """
    if spec.requires == "verified" and not identity.verified:
        return FormStep(kind="sign_in")
    values = identity_values(spec, identity)
    for field in spec.fields:
        if field.source == "identity":
            if field.name not in values:
                return FormStep(kind="sign_in", field=field)
            continue
        raw = collected.get(field.name)
        if raw is None or raw == "":
            return FormStep(kind="ask", field=field)
        checked = check_value(field, raw)
        if not checked.ok or checked.value is None:
            return FormStep(kind="ask", field=field, error=checked.error)
        values[field.name] = checked.value
    return FormStep(kind="ready", values=values)
