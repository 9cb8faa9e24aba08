"""A turn's encoder work: one encoder call per turn, shared by retrieval, the categorizer and the composer;
concurrent turns share encoder calls; CPU work stays off the event loop; a search does not ask Chroma for the
version on every question."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.gates import GateConfig
from bot.ports import Prediction
from bot.responder import Responder
from bot.testing import sample_knowledge
from bot.types import Message, Participant, Role
from knowledge import embedding
from knowledge.answer import ExtractiveAnswerer
from knowledge.chroma import ChromaKnowledgeBase, StoredVectors
from knowledge.classifier import TrainedCategorizer
from knowledge.ingest import ingest_folder
from service.demo import DEMO_CATEGORIES, train_categorizer

SAMPLE_DOCS = Path(__file__).resolve().parents[2] / "service" / "sample_docs"
CUSTOMER = Participant(role=Role.CUSTOMER, id="c1")
BOT = Participant(role=Role.BOT, id="bot")


class CountingEncoder:
    """The real encoder, counting its calls and the texts of each."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.calls.append(list(texts))
        return self.real.encode(texts, batch_size)


@pytest.fixture
def encoder(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingEncoder]:
    counting = CountingEncoder(embedding.load_encoder())
    monkeypatch.setattr(embedding, "load_encoder", lambda: counting)
    yield counting


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> ChromaKnowledgeBase:
    folder = tmp_path_factory.mktemp("docs")
    shutil.copytree(SAMPLE_DOCS, folder, dirs_exist_ok=True)
    base = ChromaKnowledgeBase.persistent(str(tmp_path_factory.mktemp("chroma")))
    ingest_folder(base, folder, progress=False)
    return base


@pytest.fixture(scope="module")
def categorizer(tmp_path_factory: pytest.TempPathFactory) -> TrainedCategorizer:
    return TrainedCategorizer.load(train_categorizer(DEMO_CATEGORIES, tmp_path_factory.mktemp("model") / "c.model"))


def responder(kb: ChromaKnowledgeBase, categorizer: TrainedCategorizer) -> Responder:
    """As the service builds it: the composer reads stored vectors, the trained categorizer scores inline."""
    return Responder(kb, ExtractiveAnswerer(embedder=StoredVectors(kb)), GateConfig(), categorizer=categorizer,
                     inline_categorizer=True)


async def test_a_turn_makes_one_encoder_call_for_its_question(
        kb: ChromaKnowledgeBase, categorizer: TrainedCategorizer, encoder: CountingEncoder) -> None:
    bot = responder(kb, categorizer)
    history: list[Message] = []
    for question in ("How do I reset my password (ticket 4417)?", "Is the reset link valid for long (ticket 9921)?",
                     "Can I export my project data as CSV (ticket 5530)?"):
        message = Message(conversation_id="c", channel="web", sender=CUSTOMER, text=question)
        encoder.calls.clear()
        outcome = await bot.respond(message, history)
        assert outcome.category, outcome
        # the question (and the last reply's opening words, new to this process) in one call: not once for
        # the categorizer, once for retrieval and once for the composer as before
        assert len(encoder.calls) == 1, encoder.calls
        assert encoder.calls[0][0] == question and len(set(encoder.calls[0])) == len(encoder.calls[0])
        history += [message, Message(conversation_id="c", channel="web", sender=BOT, text=outcome.text or "-")]


async def test_a_reply_the_bot_composed_is_not_encoded_again(
        kb: ChromaKnowledgeBase, categorizer: TrainedCategorizer, encoder: CountingEncoder) -> None:
    """A follow-up after the bot's own answer: the passages that answer was composed from stand for it, so
    the encoder sees the new question alone (with a person's reply, its words are encoded as before)."""
    bot = responder(kb, categorizer)
    first = Message(conversation_id="c", channel="web", sender=CUSTOMER, text="How do I reset my password?")
    outcome = await bot.respond(first)
    assert outcome.citations and all(c.passage_id for c in outcome.citations)
    reply = Message(conversation_id="c", channel="web", sender=BOT, text=outcome.text or "",
                    citations=outcome.citations)
    follow_up = Message(conversation_id="c", channel="web", sender=CUSTOMER, text="Is it valid for long (ref 77)?")
    encoder.calls.clear()
    await bot.respond(follow_up, [first, reply])
    assert encoder.calls == [[follow_up.text]]
    steered = kb.search_sync("Is it free?", k=1, context=[first.text, reply.text],
                             reply_passages=[c.passage_id for c in outcome.citations])
    assert steered[0].title == outcome.citations[0].title  # the follow-up stays on the reply's topic

    agent = Participant(role=Role.AGENT, id="a1")
    said = Message(conversation_id="c", channel="web", sender=agent, text="You can reset it from the sign-in page.")
    encoder.calls.clear()
    await bot.respond(follow_up.model_copy(update={"text": "Is it valid for long (ref 78)?"}), [first, said])
    assert encoder.calls == [["Is it valid for long (ref 78)?", said.text]]


def test_cited_passages_stand_for_the_reply_by_their_mean_vector(kb: ChromaKnowledgeBase) -> None:
    index = kb.index()
    ids = index.ids[:2]
    mean = index.vectors[:2].mean(axis=0)
    assert np.allclose(index.mean_vector([*ids, "gone-since-ingest"]), mean / np.linalg.norm(mean), atol=1e-6)
    assert index.mean_vector(["gone-since-ingest"]) is None
    without = kb.query_vector("Is it free?", ["How do I export data?", "reply words"], ["gone-since-ingest"], index)
    plain = kb.query_vector("Is it free?", ["How do I export data?", "reply words"])
    assert np.allclose(without, plain, atol=1e-6)  # nothing known stands for the reply: its words are encoded


async def test_a_turn_hops_to_no_thread_but_the_encoders(
        kb: ChromaKnowledgeBase, categorizer: TrainedCategorizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retrieval, the categorizer and the composer run on the event loop; only the encoder's own thread
    works for the turn (each hop to a pool thread cost the GIL's handover under load)."""
    bot = responder(kb, categorizer)
    monkeypatch.setattr(kb, "version_check_seconds", 60.0)  # the loaded index is fresh: no check in a thread
    await bot.respond(Message(conversation_id="c", channel="web", sender=CUSTOMER, text="Can I export my data?"))
    hops: list[object] = []
    real = asyncio.to_thread

    async def counted(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(function)
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    outcome = await bot.respond(Message(conversation_id="c", channel="web", sender=CUSTOMER,
                                        text="How do I reset my password (ref 5512)?"))
    assert outcome.text and outcome.citations
    assert hops == []


async def test_the_categorizer_runs_off_the_event_loop() -> None:
    class SlowCategorizer:
        def predict(self, texts: list[str]) -> list[Prediction]:
            time.sleep(0.5)  # CPU-bound work holding its thread, as scoring does
            return [Prediction(label="general", probability=0.9) for _ in texts]

    bot = Responder(sample_knowledge(), ExtractiveAnswerer(), GateConfig(), categorizer=SlowCategorizer())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(ticker())
    await bot.respond(Message(conversation_id="c", channel="web", sender=CUSTOMER, text="How do I reset my password?"))
    beat.cancel()
    assert ticks >= 20  # the loop kept serving while the categorizer worked (it froze for 0.5 s before)


async def test_the_trained_categorizer_scores_on_the_event_loop(categorizer: TrainedCategorizer) -> None:
    """It costs less than the hop to a thread; any other categorizer keeps running in a thread."""
    from bot.testing import KeywordCategorizer
    from service.container import _scores_inline

    assert _scores_inline(categorizer) and not _scores_inline(KeywordCategorizer({"billing": ["refund"]}))
    threads: list[str] = []

    class Recording:
        def predict(self, texts: list[str]) -> list[Prediction]:
            threads.append(threading.current_thread().name)
            return [Prediction(label="general", probability=0.9) for _ in texts]

    message = Message(conversation_id="c", channel="web", sender=CUSTOMER, text="How do I reset my password?")
    for inline in (True, False):
        bot = Responder(sample_knowledge(), ExtractiveAnswerer(), GateConfig(), categorizer=Recording(),
                        inline_categorizer=inline)
        await bot.respond(message)
    assert threads[0] == threading.current_thread().name and threads[1] != threads[0]


def test_concurrent_predictions_match_one_by_one(categorizer: TrainedCategorizer) -> None:
    """Turn threads score at the same time (a message costs about 0.15 ms, so they no longer share calls)."""
    questions = [f"How do I get a refund for order {i}?" if i % 2 else f"I forgot my password again ({i})"
                 for i in range(16)]
    alone = {q: categorizer.predict([q])[0] for q in questions}
    results: dict[str, Prediction] = {}
    threads = [threading.Thread(target=lambda q=q: results.__setitem__(q, categorizer.predict([q])[0]))
               for q in questions * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for q in questions:
        assert results[q].label == alone[q].label and results[q].probability == pytest.approx(alone[q].probability)


async def test_searches_within_the_check_window_ask_chroma_for_the_version_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, folder)
    writer = ChromaKnowledgeBase.persistent(str(tmp_path / "chroma"))
    ingest_folder(writer, folder, progress=False)
    reader = ChromaKnowledgeBase(writer.client, version_check_seconds=0.5)
    asked = 0
    version = reader.version

    def counted() -> object:
        nonlocal asked
        asked += 1
        return version()

    monkeypatch.setattr(reader, "version", counted)
    for _ in range(10):
        assert await reader.search("How do I reset my password?", k=2)
    assert asked == 1
    # another process's ingest is seen once the window has passed
    (folder / "new-office.md").write_text("# Our Lisbon office\n\nThe Lisbon office opens at nine and serves "
                                          "customers in Portugal with invoices in euro.\n")
    ingest_folder(writer, folder, progress=False)
    time.sleep(0.6)
    passages = await reader.search("When does the Lisbon office open?", k=1)
    assert passages[0].title == "Our Lisbon office" and asked == 2


async def test_composing_reads_block_vectors_from_memory_not_from_chroma(
        kb: ChromaKnowledgeBase, categorizer: TrainedCategorizer, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = responder(kb, categorizer)
    await bot.respond(Message(conversation_id="c", channel="web", sender=CUSTOMER, text="How do I reset my password?"))
    requests: list[str] = []
    for name in ("chunks", "titles", "texts"):
        collection = getattr(kb, name)
        monkeypatch.setattr(collection, "get", lambda *a, _n=name, **k: requests.append(_n))
        monkeypatch.setattr(collection, "query", lambda *a, _n=name, **k: requests.append(_n))
    outcome = await bot.respond(Message(conversation_id="c", channel="web", sender=CUSTOMER,
                                        text="How long do refunds take to reach my card?"))
    assert "similarity" in outcome.signals  # the composer chose and measured an answer
    assert requests == []  # each answer used to fetch its blocks' vectors from the texts collection
