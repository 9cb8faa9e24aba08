"""Actions: calls to the company's own systems that answer a customer's question about their own data.

The core owns the vocabulary (what an action needs, who the customer is, what a call returned) and the one
port it calls (`ActionRunner`); connectors implement it over HTTP, Python entry points or a Rasa action server.
Everything here is data, so a form in progress or a call's result can be stored with the conversation and
shown to an agent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

FieldType = Literal["string", "integer", "email", "date"]
FieldSource = Literal["identity", "conversation", "ask"]
IdentitySource = Literal["widget-jwt", "widget-hmac", "slack", "email-dkim", "none"]
ResultStatus = Literal["ok", "not_found", "failed", "refused"]

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Spec(BaseModel):
    """Specs come from a hand-written file: unknown keys are typos, and typos must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldSpec(_Spec):
    """One value an action needs, and where it may come from.

    `identity` fields are read only from the verified `Identity` (attribute or claim named by `claim`,
    the field's name by default), so no customer can name another customer's data by typing it.
    """

    name: str = Field(pattern=_NAME)
    type: FieldType = "string"
    pattern: str | None = None
    source: FieldSource = "ask"
    prompt: str | None = None
    examples: list[str] = Field(default_factory=list)
    claim: str | None = None

    @model_validator(mode="after")
    def _askable(self) -> FieldSpec:
        if self.source == "ask" and not self.prompt:
            raise ValueError(f"field '{self.name}' is asked from the customer but has no prompt")
        return self


class HttpCall(_Spec):
    """An HTTP request: `url` and `json` are templates over the fields; header values may name `${ENV}`
    variables, so secrets live in the environment and never in the file."""

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(default=None, alias="json")
    timeout: float = Field(default=10.0, gt=0, le=120)

    @property
    def is_read(self) -> bool:
        """Reads may be retried; a write retried after a lost answer could cancel or charge twice."""
        return self.method in ("GET", "HEAD")


class ReplyCase(_Spec):
    """A reply for one state of the answer: `when` is a condition over the response's fields."""

    when: str
    text: str


class ReplySpec(_Spec):
    """What the customer is told: the first case whose condition holds, else `default`."""

    cases: list[ReplyCase] = Field(default_factory=list)
    not_found: str | None = None
    default: str | None = None


class FailureSpec(_Spec):
    """What counts as failure or as "not found" beyond the status code's own meaning (404 is not found,
    any other 4xx/5xx failed): extra status codes and conditions over the response's fields."""

    statuses: list[int] = Field(default_factory=list)
    when: str | None = None
    not_found_statuses: list[int] = Field(default_factory=lambda: [404])
    not_found_when: str | None = None


class ActionSpec(_Spec):
    """One action as declared: how it is recognised, what it needs, how it is carried out and answered.

    Exactly one of `call` (HTTP), `handler` (a Python entry point's name) or `rasa` (a rasa-sdk action's
    name) carries it out. Actions that change something (`writes`) need a `confirm` question.
    """

    name: str = Field(pattern=_NAME)
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    fields: list[FieldSpec] = Field(default_factory=list)
    requires: Literal["verified", "none"] = "verified"
    writes: bool = False
    confirm: str | None = None
    call: HttpCall | None = None
    handler: str | None = None
    rasa: str | None = None
    reply: ReplySpec = Field(default_factory=ReplySpec)
    failure: FailureSpec = Field(default_factory=FailureSpec)

    @model_validator(mode="after")
    def _consistent(self) -> ActionSpec:
        ways = [w for w in ("call", "handler", "rasa") if getattr(self, w) is not None]
        if len(ways) != 1:
            raise ValueError(f"action '{self.name}' needs exactly one of call, handler or rasa (has {ways or 'none'})")
        if self.writes and not self.confirm:
            raise ValueError(f"action '{self.name}' writes, so it needs a confirm question")
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"action '{self.name}' declares a field twice")
        return self

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


class Identity(BaseModel):
    """Who the customer is, as far as something they cannot forge says (a signed token, Slack's signature,
    a provider's DKIM verdict); `verified=False` means only what they typed."""

    model_config = ConfigDict(frozen=True)

    verified: bool = False
    user_id: str | None = None
    email: str | None = None
    claims: dict[str, Any] = Field(default_factory=dict)
    source: IdentitySource = "none"

    @classmethod
    def anonymous(cls) -> Identity:
        return cls()

    def value(self, key: str) -> Any:
        """An attribute (`user_id`, `email`) or a signed claim: the only way identity fields are filled."""
        if key in ("user_id", "email"):
            return getattr(self, key)
        return self.claims.get(key)


class ActionResult(BaseModel):
    """What a call returned, kept for the agent (inputs aside): status, timing, the data and the reply."""

    model_config = ConfigDict(frozen=True)

    status: ResultStatus
    http_status: int | None = None
    latency_ms: float = 0.0
    data: dict[str, Any] = Field(default_factory=dict)
    reply: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def redacted(self, redact: Callable[[str], str]) -> ActionResult:
        """The same result with every string in `data` and the reply passed through `redact` (personal data
        is labelled before a result reaches the journal or an export)."""
        return self.model_copy(update={"data": _map_strings(self.data, redact),
                                       "reply": redact(self.reply) if self.reply is not None else None})


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value


def refusal(spec: ActionSpec, identity: Identity) -> ActionResult | None:
    """A `refused` result when the action needs a verified customer and this one is not; every runner
    checks it again, so a caller that forgot cannot leak data."""
    if spec.requires == "verified" and not identity.verified:
        return ActionResult(status="refused", error="the customer's identity is not verified")
    return None


class ActionRunner(Protocol):
    """Carries out one action with validated field values for one customer."""

    async def run(self, spec: ActionSpec, fields: Mapping[str, Any], identity: Identity) -> ActionResult:
        """Never raises for the call's own failures: they come back as `failed` (or `not_found`, `refused`)
        so the dialogue can hand off with the result attached."""
        ...
