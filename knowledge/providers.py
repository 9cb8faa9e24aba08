"""Chat models by configuration: one `ModelSpec` per model, built through langchain's provider packages.

Swapping providers is a settings change: the answer path only ever sees langchain-core's `BaseChatModel`.
Each provider's package is an optional extra (`pip install supportbot[anthropic]`), imported only when a
model of that provider is configured.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import import_module
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Provider = Literal["openai", "openai_compatible", "azure_openai", "anthropic", "google_genai", "ollama"]

# provider -> (module, class, the extra that installs it)
_CLASSES: dict[str, tuple[str, str, str]] = {
    "openai": ("langchain_openai", "ChatOpenAI", "llm"),
    "openai_compatible": ("langchain_openai", "ChatOpenAI", "llm"),
    "azure_openai": ("langchain_openai", "AzureChatOpenAI", "llm"),
    "anthropic": ("langchain_anthropic", "ChatAnthropic", "anthropic"),
    "google_genai": ("langchain_google_genai", "ChatGoogleGenerativeAI", "google-genai"),
    "ollama": ("langchain_ollama", "ChatOllama", "ollama"),
}


class ModelSpec(BaseModel):
    """One model of the fallback chain. Prices are per million tokens, in the budget's currency."""

    provider: Provider = "openai"
    model: str = Field(min_length=1)
    base_url: str | None = None  # a proxy, a local server, the Azure endpoint; unset: the provider's own
    api_key_env: str | None = None  # the environment variable holding the key (never the key itself)
    api_version: str | None = None  # Azure OpenAI only
    timeout: float = Field(20.0, gt=0)  # seconds for the whole answer, streamed or not
    price_in: float = Field(0.0, ge=0)
    price_out: float = Field(0.0, ge=0)
    max_tokens: int = Field(1024, ge=1)

    @model_validator(mode="after")
    def _needs_url(self) -> ModelSpec:
        if self.provider in ("openai_compatible", "azure_openai") and not self.base_url:
            raise ValueError(f"a {self.provider} model needs base_url")
        return self

    @property
    def name(self) -> str:
        """How turns, analytics and metrics name it: provider:model."""
        return f"{self.provider}:{self.model}"

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.price_in + output_tokens * self.price_out) / 1_000_000

    def api_key(self) -> str | None:
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ValueError(f"model {self.name}: environment variable {self.api_key_env} is not set")
        return key


def _arguments(spec: ModelSpec) -> dict[str, Any]:
    """The constructor arguments each provider's class names its way. No retries: the chain's next model is
    the retry, and a customer does not wait for a slow provider twice."""
    key = spec.api_key()
    if spec.provider in ("openai", "openai_compatible"):
        return {"model": spec.model, "base_url": spec.base_url, "api_key": key or "not-needed", "temperature": 0,
                "timeout": spec.timeout, "max_retries": 0, "max_tokens": spec.max_tokens, "stream_usage": True}
    if spec.provider == "azure_openai":
        return {"azure_deployment": spec.model, "azure_endpoint": spec.base_url, "api_key": key,
                "api_version": spec.api_version, "temperature": 0, "timeout": spec.timeout, "max_retries": 0,
                "max_tokens": spec.max_tokens, "stream_usage": True}
    if spec.provider == "anthropic":
        return {"model": spec.model, "base_url": spec.base_url, "api_key": key or "not-needed", "temperature": 0,
                "timeout": spec.timeout, "max_retries": 0, "max_tokens": spec.max_tokens}
    if spec.provider == "google_genai":
        return {"model": spec.model, "google_api_key": key, "temperature": 0, "timeout": spec.timeout,
                "max_retries": 0, "max_output_tokens": spec.max_tokens}
    return {"model": spec.model, "base_url": spec.base_url, "temperature": 0, "num_predict": spec.max_tokens}


def build_chat_model(spec: ModelSpec, *, importer: Callable[[str], Any] = import_module) -> Any:
    """The langchain chat model for `spec`; a provider whose package is missing says which extra to install."""
    module_name, class_name, extra = _CLASSES[spec.provider]
    try:
        module = importer(module_name)
    except ImportError as error:
        raise ValueError(f"model {spec.name} needs the {module_name} package: "
                         f"pip install 'supportbot[{extra}]'") from error
    arguments = {k: v for k, v in _arguments(spec).items() if v is not None}
    return getattr(module, class_name)(**arguments)
