"""Per-category, per-channel phase gates and the thresholds that decide when the bot may speak."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field, model_validator

from bot.types import Phase

GENERAL = "general"
UNKNOWN_LABELS = frozenset({"unknown", "oos"})


class Thresholds(BaseModel):
    """Each signal has its own floor, so an escalation can say which one fell short."""

    min_category_probability: float = Field(0.5, ge=0, le=1)
    min_retrieval_score: float = Field(0.30, ge=0, le=1)
    min_support: float = Field(0.75, ge=0, le=1)
    min_confidence: float = Field(0.35, ge=0, le=1)
    # the composer's estimate that its text addresses the question (`Answer.grounding`)
    min_grounding: float = Field(0.5, ge=0, le=1)


class CategoryConfig(BaseModel):
    name: str = Field(min_length=1)
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    phase: Phase = Phase.FULL
    channels: dict[str, Phase] = Field(default_factory=dict)
    queue: str | None = None
    priority: int = Field(1, ge=0, le=5)
    sla_seconds: int | None = Field(None, gt=0)
    thresholds: Thresholds | None = None
    # a language model writes this category's answers (where one is configured), even where the offline
    # composer is confident: for categories whose answers read better as prose than as quoted passages
    prose: bool = False


class GateConfig(BaseModel):
    """The whole ladder. With no categories configured, everything is `general` in `full`."""

    categories: list[CategoryConfig] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @model_validator(mode="after")
    def _unique_names(self) -> "GateConfig":
        names = [c.name for c in self.categories]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"category names must be unique, repeated: {sorted(duplicates)}")
        return self

    def category(self, name: str) -> CategoryConfig:
        for c in self.categories:
            if c.name == name:
                return c
        return CategoryConfig(name=name)

    def phase_for(self, category: str, channel: str) -> Phase:
        config = self.category(category)
        return config.channels.get(channel, config.phase)

    def thresholds_for(self, category: str) -> Thresholds:
        return self.category(category).thresholds or self.thresholds

    def queue_for(self, category: str) -> str:
        return self.category(category).queue or category

    @property
    def configured(self) -> bool:
        return bool(self.categories)


def with_overrides(gates: GateConfig, overrides: Mapping[str, Phase]) -> GateConfig:
    """A copy in which each overridden category has that one phase on every channel.

    An admin who moves a category means the whole category: per-channel phases from the file would
    otherwise keep some channels where they were without anyone seeing it.
    """
    if not overrides:
        return gates
    result = gates.model_copy(deep=True)
    for name, phase in overrides.items():
        config = next((c for c in result.categories if c.name == name), None)
        if config is None:
            result.categories.append(CategoryConfig(name=name, phase=phase))
        else:
            config.phase, config.channels = phase, {}
    return result


def with_floors(gates: GateConfig, floors: Mapping[str, float]) -> GateConfig:
    """A copy in which each category's confidence floor is at least its proven one (`bot/ceiling.py`): a proof
    only ever raises a configured floor, never lowers it."""
    raised = {name: floor for name, floor in floors.items() if floor > gates.thresholds_for(name).min_confidence}
    if not raised:
        return gates
    result = gates.model_copy(deep=True)
    for name, floor in raised.items():
        thresholds = result.thresholds_for(name).model_copy(update={"min_confidence": floor})
        config = next((c for c in result.categories if c.name == name), None)
        if config is None:
            result.categories.append(CategoryConfig(name=name, thresholds=thresholds))
        else:
            config.thresholds = thresholds
    return result


def with_actions(gates: GateConfig, actions: Mapping[str, tuple[str, list[str]]]) -> GateConfig:
    """A copy with one category per action (`name -> (description, examples)`), so the categorizer routes
    to an action from its examples and the action has a phase like any category. A category of the same
    name in the categories file keeps its phase, queue and thresholds; the action's examples join its own."""
    if not actions:
        return gates
    result = gates.model_copy(deep=True)
    for name, (description, examples) in actions.items():
        config = next((c for c in result.categories if c.name == name), None)
        if config is None:
            result.categories.append(CategoryConfig(name=name, description=description, examples=list(examples)))
        else:
            config.examples = [*config.examples, *(e for e in examples if e not in config.examples)]
            config.description = config.description or description
    return result
