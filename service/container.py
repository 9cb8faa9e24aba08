"""The composition root: the one place that knows every concrete class."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from redis.asyncio import Redis

from bot.confidence import Calibration
from bot.delivery import Channel, Delivery
from bot.desk import AgentDesk
from bot.dialogue import DialogueManager
from bot.escalation import AgentNotifier, EscalationJobs
from bot.files import AttachmentStore
from bot.gates import GateConfig
from bot.hours import BusinessHours
from bot.observer import FanOut
from bot.ports import Answerer, Categorizer, KnowledgeBase, Passage, Speller
from bot.privacy import Redactor
from bot.reading import MessageReader
from bot.responder import Responder
from bot.runner import InlineTaskRunner, TaskRunner
from bot.smalltalk import SmallTalk
from connectors.storage import LocalAttachmentStore
from connectors.upload_quota import UploadLedger
from service.actions import build_action_flow, gates_with_actions, load_actions
from service.live_hub import Hub, live_hub_for
from service.logs import LoggingObserver
from service.metrics import PrometheusObserver
from service.redis_clients import build_live_redis, build_redis
from service.redis_store import (
    ProcessLocks,
    RedisConversationStore,
    RedisHandoffQueue,
    RedisJournal,
    RedisPhaseOverrides,
    RedisProvenFloors,
)
from service.settings import Settings
from service.tracing import tracing_observer
from service.waiting import ExpectedWait

log = logging.getLogger(__name__)


def answerability_floor() -> float:
    """The floor fitted with the composer's answerability model: where the bot stops answering by default."""
    from knowledge.answerability import shipped

    return shipped().floor


def load_gates(settings: Settings) -> GateConfig:
    """Categories file (YAML or TOML-like YAML); none configured means one `general` category in `full`.

    The default floors come from the settings, so every reader of the gates (the bot, reports, the
    confidence fit) checks turns against the same ones.
    """
    path = settings.categories_file
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) if path is not None else None
    gates = GateConfig.model_validate(data or {})
    gates.thresholds.min_retrieval_score = settings.min_retrieval_score
    gates.thresholds.min_confidence = settings.min_confidence
    gates.thresholds.min_grounding = settings.min_grounding if settings.min_grounding is not None \
        else answerability_floor()
    return gates_with_actions(gates, load_actions(settings))


@lru_cache(maxsize=4)
def _knowledge(chroma_url: str | None, chroma_path: str, collection: str, check_seconds: float) -> KnowledgeBase:
    from knowledge.chroma import ChromaKnowledgeBase

    if chroma_url:
        return ChromaKnowledgeBase.http(chroma_url, collection_name=collection, version_check_seconds=check_seconds)
    return ChromaKnowledgeBase.persistent(chroma_path, collection_name=collection,
                                          version_check_seconds=check_seconds)


def build_knowledge(settings: Settings) -> KnowledgeBase:
    return _knowledge(settings.chroma_url, str(settings.chroma_path), settings.collection,
                      settings.index_check_seconds)


class LazyKnowledge:
    """Opens Chroma on the first search, so processes that never search (workers) never open it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def search(self, query: str, *, k: int = 4, context: Sequence[str] = (),
                     reply_passages: Sequence[str] = ()) -> list[Passage]:
        return await build_knowledge(self.settings).search(query, k=k, context=context,
                                                           reply_passages=reply_passages)

    async def correct(self, text: str) -> str:
        return await build_knowledge(self.settings).correct(text)  # type: ignore[attr-defined]


def build_answerer(settings: Settings, composer: Answerer | None = None) -> Answerer:
    """The offline composer alone, or with language models configured, the chain that routes a turn to
    them (knowledge/chain.py); its budget and live events are connected by `build_container`."""
    if composer is None:
        from knowledge.answer import ExtractiveAnswerer

        composer = ExtractiveAnswerer(embedder=KnowledgeEmbedder(settings))
    models = build_models(settings)
    if not models:
        return composer
    from connectors.actions.breaker import CircuitBreaker
    from knowledge.chain import ModelChain
    from service.metrics import record_model_call

    return ModelChain(composer, models, breaker=CircuitBreaker(threshold=1, cooldown=settings.llm_cooldown_seconds),
                      route=settings.llm_route, on_call=record_model_call,
                      stream_channels=frozenset({"web"}) if settings.llm_stream else frozenset())


def build_models(settings: Settings) -> list[Any]:
    """The configured models as `ChainModel`s, in order; the single-endpoint settings make a one-model list."""
    if not settings.llm_models and not settings.llm_base_url:
        return []
    from knowledge.chain import ChainModel
    from knowledge.llm import LangChainAnswerer, build_openai_compatible
    from knowledge.providers import ModelSpec, build_chat_model

    if not settings.llm_models:
        assert settings.llm_base_url is not None
        spec = ModelSpec(provider="openai_compatible", model=settings.llm_model, base_url=settings.llm_base_url)
        return [ChainModel(spec, LangChainAnswerer(build_openai_compatible(
            settings.llm_base_url, settings.llm_model, settings.llm_api_key, timeout=spec.timeout)))]
    return [ChainModel(spec, LangChainAnswerer(build_chat_model(spec))) for spec in settings.llm_models]


class KnowledgeEmbedder:
    """The composer's encoder: block vectors stored at ingest are read from the knowledge base."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, texts: list[str]) -> Any:
        from knowledge.chroma import ChromaKnowledgeBase

        kb = build_knowledge(self.settings)
        if isinstance(kb, ChromaKnowledgeBase):
            return kb.embed_known(texts)
        from knowledge.embedding import cached_embed

        return cached_embed(texts)

    async def encode_async(self, texts: list[str]) -> Any:
        """The same, awaited on the event loop (the knowledge base is open since the warm-up, as for search)."""
        from knowledge.chroma import ChromaKnowledgeBase
        from knowledge.embedding import cached_embed

        kb = build_knowledge(self.settings)
        if isinstance(kb, ChromaKnowledgeBase):
            return await kb.embed_known_async(texts)
        return await cached_embed.encode_async(texts)


def load_smalltalk(settings: Settings) -> SmallTalk:
    """Built-in replies: the scope and off-topic policy from the settings, texts from the replies file."""
    replies = {}
    if settings.replies_file is not None:
        data = yaml.safe_load(Path(settings.replies_file).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{settings.replies_file}: expected a mapping of reply kind to text")
        replies = data
    try:
        return SmallTalk(scope=settings.help_scope, off_topic=settings.off_topic,
                         replies={**SmallTalk().replies, **replies})
    except ValidationError as error:
        raise ValueError(f"{settings.replies_file}: {error}") from error


def calibration_path(settings: Settings) -> Path:
    return settings.calibration_file or settings.data_dir / "confidence.json"


def load_calibration(settings: Settings) -> Calibration | None:
    """The fitted confidence, if one was trained; a broken file stops the start rather than go unnoticed."""
    path = calibration_path(settings)
    if not path.exists():
        if settings.calibration_file is not None:
            raise ValueError(f"{path}: calibration file not found")
        return None
    try:
        return Calibration.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise ValueError(f"{path}: not a confidence calibration: {error}") from error


def build_categorizer(settings: Settings) -> Categorizer | None:
    artifact = settings.categorizer_artifact
    if artifact is None and settings.categories_file is not None:
        candidate = Path(settings.categories_file).with_suffix(".model")
        artifact = candidate if candidate.exists() else None
    if artifact is None:
        return None
    from knowledge.classifier import TrainedCategorizer

    return TrainedCategorizer.load(artifact)


def speller_of(knowledge: KnowledgeBase) -> Speller | None:
    """The knowledge base corrects customers' typos where it can (Chroma's index knows its words)."""
    return knowledge if callable(getattr(knowledge, "correct", None)) else None  # type: ignore[return-value]


def build_reader() -> MessageReader:
    """The trained reader of customers' messages: trained once from the shipped examples, then loaded."""
    from knowledge.reader import load_reader

    return load_reader()


def _scores_inline(categorizer: Categorizer | None) -> bool:
    """The trained categorizer scores a message in about 0.15 ms: less than a thread hop costs."""
    if categorizer is None:
        return False
    from knowledge.classifier import TrainedCategorizer

    return isinstance(categorizer, TrainedCategorizer)


def build_notifiers(settings: Settings, redis: Redis, store: RedisConversationStore,
                    queue: RedisHandoffQueue) -> list[AgentNotifier]:
    notifiers: list[AgentNotifier] = []
    if settings.notify_webhook_url:
        from service.webhook import WebhookNotifier

        notifiers.append(WebhookNotifier(settings.notify_webhook_url, settings.public_url,
                                         redact=Redactor(settings.redact)))
    if settings.slack_bot_token and settings.slack_agents_channel:
        from connectors.slack.desk import SlackAgentDesk

        notifiers.append(SlackAgentDesk.from_settings(settings, redis, store, queue))
    return notifiers


@dataclass
class Container:
    settings: Settings
    redis: Redis
    store: RedisConversationStore
    queue: RedisHandoffQueue
    journal: RedisJournal
    runner: TaskRunner
    dialogue: DialogueManager
    desk: AgentDesk
    escalation: EscalationJobs
    delivery: Delivery
    phase_overrides: RedisPhaseOverrides
    live: Hub
    attachments: AttachmentStore
    uploads: UploadLedger
    extras: dict[str, Any] = field(default_factory=dict)

    async def warm_up(self) -> None:
        """Open the knowledge base and load the encoder before the first question, when they are ours to load."""
        if isinstance(self.dialogue.responder.knowledge, LazyKnowledge):
            try:
                await self.dialogue.responder.knowledge.search("warm up", k=1)
            except Exception:  # an empty or missing collection is reported on the first real question
                log.warning("knowledge base warm-up failed", exc_info=True)

    async def close(self) -> None:
        if isinstance(self.runner, InlineTaskRunner):
            self.runner.cancel_all()
        await self.live.close()
        await self.redis.aclose()


def build_attachments(settings: Settings) -> AttachmentStore:
    """Where files are kept; an S3-compatible store implementing `AttachmentStore` is returned here instead."""
    return LocalAttachmentStore(settings.attachments_dir or settings.data_dir / "attachments")


def build_channels(settings: Settings, files: AttachmentStore | None = None) -> dict[str, Channel]:
    """Push channels configured in settings (the web widget pulls, so it is not here); `files` is where they
    read the files agents attach to replies."""
    files = files or build_attachments(settings)
    channels: dict[str, Channel] = {}
    if settings.slack_bot_token:
        from connectors.slack.channel import SlackChannel

        channels["slack"] = SlackChannel.from_settings(settings, files)
    if settings.smtp_host:
        from connectors.email.channel import EmailChannel

        channels["email"] = EmailChannel.from_settings(settings, files)
    if settings.rasa_url:
        from connectors.rasa.channel import RasaChannel

        channels["rasa"] = RasaChannel.from_settings(settings)
    return channels


def build_container(settings: Settings, *, runner: TaskRunner | None = None,
                    knowledge: KnowledgeBase | None = None, answerer: Answerer | None = None,
                    channels: dict[str, Channel] | None = None, categorizer: Categorizer | None = None
                    ) -> Container:
    if not settings.agent_token:
        settings.agent_token = secrets.token_urlsafe(16)
        log.info("SUPPORTBOT_AGENT_TOKEN not set; generated one for this process")
    redis = build_redis(settings)
    live = live_hub_for(build_live_redis(settings))
    retention = int(settings.retention_days * 86400)
    store = RedisConversationStore(redis, settings.redis_prefix, lock_timeout=settings.turn_lock_seconds,
                                   idle_ttl=int(settings.idle_conversation_hours * 3600), kept_ttl=retention,
                                   live=live, process_locks=ProcessLocks() if settings.embedded else None,
                                   wait_replicas=settings.redis_wait_replicas)
    queue = RedisHandoffQueue(redis, settings.redis_prefix, retention=retention, live=live,
                              wait_replicas=settings.redis_wait_replicas)
    journal = RedisJournal(redis, settings.redis_prefix, retention=retention)
    if runner is None:
        runner = _default_runner(settings)
    actions = load_actions(settings)
    gates = load_gates(settings)
    phase_overrides = RedisPhaseOverrides(redis, settings.redis_prefix)
    tracing = tracing_observer()
    observer = FanOut(PrometheusObserver(), LoggingObserver(), *([tracing] if tracing else []))
    categorizer = categorizer or build_categorizer(settings)
    knowledge_base = knowledge or LazyKnowledge(settings)
    answerer = answerer or build_answerer(settings)
    budget = _connect_models(answerer, settings, redis, store)
    responder = Responder(knowledge_base, answerer, gates,
                          categorizer=categorizer, inline_categorizer=_scores_inline(categorizer),
                          top_k=settings.top_k,
                          overrides=phase_overrides,
                          floors=RedisProvenFloors(redis, settings.redis_prefix) if settings.ceiling_apply else None,
                          calibration=load_calibration(settings), smalltalk=load_smalltalk(settings),
                          redact=Redactor(settings.redact), observer=observer, reader=build_reader(),
                          speller=speller_of(knowledge_base),
                          actions=frozenset(actions.actions) if actions is not None else frozenset())

    expected_wait = ExpectedWait(queue, settings.minutes_per_handoff)
    attachments = build_attachments(settings)
    delivery = Delivery(store, build_channels(settings, attachments) if channels is None else channels)
    hours = BusinessHours.parse(settings.business_hours, settings.business_timezone) \
        if settings.business_hours else None
    dialogue = DialogueManager(store, queue, responder, runner, journal, expected_wait=expected_wait,
                               push_channels=frozenset(delivery.channels), hours=hours,
                               replies_in_turn=frozenset(name for name, channel in delivery.channels.items()
                                                         if getattr(channel, "replies_in_turn", False)),
                               observer=observer,
                               actions=build_action_flow(settings, actions, responder.redact, redis=redis))
    escalation = EscalationJobs(queue, runner, build_notifiers(settings, redis, store, queue),
                                reminder_seconds=settings.reminder_seconds, max_reminders=settings.max_reminders,
                                sla_seconds=lambda category: gates.category(category).sla_seconds)
    if isinstance(runner, InlineTaskRunner):
        runner.register("open_handoff", escalation.open_handoff)
        runner.register("remind_handoff", escalation.remind_handoff)
        runner.register("deliver", delivery.deliver)
    uploads = UploadLedger(redis, settings.redis_prefix, attachments, store,
                           bytes_per_address=settings.attachment_bytes_per_address,
                           bytes_per_conversation=settings.attachment_bytes_per_conversation,
                           unsent_seconds=settings.unsent_attachment_minutes * 60, kept_seconds=retention)
    return Container(settings, redis, store, queue, journal, runner, dialogue, AgentDesk(dialogue), escalation,
                     delivery, phase_overrides, live, attachments, uploads,
                     extras={"model_budget": budget} if budget is not None else {})


def _connect_models(answerer: Answerer, settings: Settings, redis: Redis, store: RedisConversationStore) -> Any:
    """A model chain (knowledge/chain.py) gets the deployment's budget counter and the conversations' live
    events; any other answerer costs nothing and streams nothing."""
    connect = getattr(answerer, "connect", None)
    if connect is None:
        return None
    from service.model_budget import RedisBudget

    connect(budget=RedisBudget(redis, settings.redis_prefix, settings.llm_monthly_budget),
            publish=store.publish_event if getattr(answerer, "stream_channels", None) else None)
    return getattr(answerer, "budget", None)


def _default_runner(settings: Settings) -> TaskRunner:
    if settings.embedded:
        return InlineTaskRunner()
    from workers.runner import CeleryTaskRunner

    return CeleryTaskRunner(settings)
