"""The bot on the sample help centre, built as the product builds it (embedded store, embedded Chroma, the
default answerer), and a customer who talks to it through the dialogue manager: what a visitor of the
widget would get, earlier turns included."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bot.dialogue import Turn
from bot.types import Message, Participant, Role, TurnOutcome
from knowledge.ingest import ingest_folder
from service.cli import SAMPLE_DOCS
from service.container import Container, build_knowledge
from service.demo import DEMO_CATEGORIES, train_categorizer
from service.settings import Settings

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})


def normalized(text: str) -> str:
    """Lower case, plain quotes and dashes, one space: how key facts are compared with what the bot says."""
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip().lower()


def page_text(name: str) -> str:
    """A sample page as a reader sees it (HTML without its tags)."""
    return normalized(_TAG.sub(" ", (SAMPLE_DOCS / name).read_text(encoding="utf-8")))


def ingested_settings(data_dir: Path) -> Settings:
    """Settings of a fresh embedded deployment whose knowledge base holds the sample help centre.

    The product defaults are stated, not inherited from the environment: the test suite's shared
    configuration turns off-topic replies into handoffs, and these cases check the product's default.
    """
    settings = Settings(data_dir=data_dir, redis_url=None, chroma_url=None, llm_base_url=None,
                        categories_file=None, calibration_file=None, off_topic="reply",
                        _env_file=None)  # type: ignore[call-arg]
    ingest_folder(build_knowledge(settings), SAMPLE_DOCS, progress=False)  # type: ignore[arg-type]
    return settings


def demo_phase_settings(settings: Settings) -> Settings:
    """The same knowledge base behind the demo's categories (account full, billing draft, shipping
    categorize) and the categorizer the demo trains from them."""
    model = train_categorizer(DEMO_CATEGORIES, settings.data_dir / "demo-categories.model")
    return settings.model_copy(update={"categories_file": DEMO_CATEGORIES, "categorizer_artifact": model,
                                       "redis_prefix": "demo"})


def label(outcome: TurnOutcome) -> str:
    """What the customer got, in one word: the built-in reply's kind, else the decision."""
    return outcome.handled_as or outcome.decision.value


def page_of(passage_id: str, source: str) -> str:
    """The help-centre file a citation comes from."""
    return passage_id.split("::")[0] if passage_id else source


@dataclass
class Said:
    """The last turn of a conversation as the customer and the agents see it."""

    label: str
    reason: str
    text: str  # what the customer reads; for a draft, what the agent reviews
    pages: list[str]
    answer: str = ""  # the text the bot composed (sent, drafted or kept for the agent), without notices
    earlier: list[str] = field(default_factory=list)  # labels of the history turns

    @property
    def first_page(self) -> str:
        return self.pages[0] if self.pages else ""

    def describe(self) -> str:
        text = " ".join(self.text.split())
        return f"{self.label} ({self.reason or '-'}) cites {self.pages or '-'}: {text[:240]!r}"


class Customer:
    """Opens a conversation per call and says the history first, so the bot's own replies are the context."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.person = Participant(role=Role.CUSTOMER, id=f"golden-{uuid.uuid4().hex[:8]}", name="")

    async def _say(self, conversation_id: str, text: str) -> Turn:
        return await self.container.dialogue.handle(Message(conversation_id=conversation_id, channel="web",
                                                            sender=self.person, text=text))

    async def converse(self, history: list[str], say: str) -> Said:
        state = await self.container.dialogue.start("web", self.person)
        earlier = []
        for text in history:
            turn = await self._say(state.id, text)
            earlier.append(label(turn.outcome) if turn.outcome else "not handled by the bot")
        turn = await self._say(state.id, say)
        if turn.outcome is None:
            return Said(label="not handled by the bot", reason="", text="", pages=[], earlier=earlier)
        outcome = turn.outcome
        text = turn.replies[0].text if turn.replies else outcome.text
        return Said(label=label(outcome), reason=outcome.reason.value if outcome.reason else "", text=text,
                    pages=[page_of(c.passage_id, c.source) for c in outcome.citations], answer=outcome.text,
                    earlier=earlier)
