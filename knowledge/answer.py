"""Grounded answers: an offline extractive composer, and a checker for any answer's sentences.

The composer answers with whole blocks of a help-centre section (a paragraph, or a list with its lead-in,
steps whole and in order), chosen for the question read in the light of the conversation so far; a question
asking for one fact ("how long ...?", "can I ...?") gets the sentence that states it, with "Yes, " or "No, "
where that sentence says so, and a follow-up is looked for first where the last reply came from. Before
answering it checks that the chosen text addresses what was asked (`grounding`): a page on a similar topic
that never mentions the question's key terms is no answer.

Document text is data, never instructions: sentences that address a language model, or that ask customers
to send card numbers, passwords or codes anywhere, are never part of an answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from bot.ports import Answer, Exchange, Passage, last_said
from bot.safety import looks_like_injection
from bot.types import Citation
from knowledge.answerability import AnswerabilityModel, shipped
from knowledge.embedding import cached_embed, encode_async, steer
from knowledge.rarity import coverage, weighted_terms
from knowledge.text import (
    LIST_MARKER,
    NUMBERED,
    Block,
    blocks,
    conditional,
    elliptical,
    is_yes_no,
    key_terms,
    leans_back,
    normalize,
    numbers,
    polarity,
    refers_back,
    split_sentences,
    stems,
    term_set,
    with_polarity,
)

Embedder = Callable[[list[str]], np.ndarray]

# Minimum passage score (title-aware cosine similarity, 0..1, from ChromaKnowledgeBase.search) for a
# passage to be used in an answer. Measured on the sample help centre (service/sample_docs) with the
# default search settings: the best passage of 24 in-scope questions scored 0.34-0.85 (the lowest were
# terse ones: "What are your support hours?" 0.34, "What does HTTP 429 mean?" 0.35), while 16 off-topic
# questions ("What is the capital of Mongolia?", recipes, sports, weather, ...) scored 0.04-0.22.
# 0.30 sits in that gap; below it the bot should hand over rather than guess.
DEFAULT_MIN_SCORE = 0.30

# A sentence of someone else's answer counts as backed by the passages when it is (nearly) copied from
# them, or when it is both close in meaning and uses mostly the passages' words, with no new numbers.
SUPPORT_MIN_SIMILARITY = 0.6
SUPPORT_MIN_OVERLAP = 0.6

_SECRET = (r"(?:full )?(?:credit |debit )?card numbers?|cvv2?|cvc|security code|pin(?: code)?|passwords?|passcodes?"
           r"|one[- ]time (?:code|password)s?|verification codes?|2fa codes?|otp|social security numbers?"
           r"|bank (?:login|credentials)|login details|credentials")
_SECRET_REQUEST = re.compile(
    rf"\b(?:send|e-?mail|give|share|provide|reply with|text|forward|post|tell|dm|submit|include)\b[^.!?\n]{{0,60}}"
    rf"\b(?:{_SECRET})\b|\b(?:{_SECRET})\b[^.!?\n]{{0,40}}\b(?:to|at|via)\b[^.!?\n]{{0,30}}(?:@|https?://|\bwww\.)",
    re.I,
)
_SECRET_WARNING = re.compile(r"\b(?:never|not|don't|do not|won't|will not)\b", re.I)
_PROCEDURE = re.compile(r"\bhow (?:do|can|should|would) (?:i|we|you)\b|\bhow to\b|\bsteps?\b|\bprocedure\b|"
                        r"\b(?:set ?up|turn on|enable|configure|install)\b", re.I)
# "which are the options ...", "list ...": a whole list answers, not its best item
_LISTING = re.compile(r"\b(?:which|what)\b[^?.]*\b(?:options|ways|types|kinds|methods|choices|formats)\b|\blist\b",
                      re.I)
_LEAD = r"^\W*(?:(?:and|so|but|ok|okay|also|then)\W+)*"
# a question asking for one fact, which one sentence states ("what is ...", "why ..." ask for a paragraph)
_NARROW = re.compile(_LEAD + r"(?:how (?:long|many|much|often|soon|far|old|late|early|big|large|quickly|fast)|when|"
                     r"where|what time|what day|which|who|by when|until when)\b", re.I)
# a question a figure answers: a sentence stating one answers it alone
_QUANTITY = re.compile(_LEAD + r"(?:how (?:long|many|much|often|soon|far|old|late|early|big|large)|when|what time|"
                       r"by when|until when)\b", re.I)
SCORED_WORDS = 180  # the encoder reads about this many words (256 word pieces)
_CITATION_MARK = re.compile(r"\s*\[(\d{1,3})\](?:\s*\[(\d{1,3})\])*")
_PART_SPLIT = re.compile(r"\?\s+(?=\S)|;\s+|,?\s+and\s+(?=(?:how|what|when|where|why|who|which|can|could|do|does|"
                         r"is|are|will|would|should)\b)|\s+also\s+(?=(?:how|what|when|where|why|can|do|does|is|are)\b)",
                         re.I)


def asks_for_secrets(sentence: str) -> bool:
    """Text telling customers to send card numbers, passwords or codes somewhere (a warning against it is fine)."""
    return bool(_SECRET_REQUEST.search(sentence)) and not _SECRET_WARNING.search(sentence)


def unsafe_for_customers(sentence: str) -> bool:
    return looks_like_injection(sentence) or asks_for_secrets(sentence)


def strip_citation_marks(text: str) -> str:
    return _CITATION_MARK.sub("", text).strip()


def _evidence(passage: Passage) -> str:
    return passage.section_text or passage.text


def supported_sentences(text: str, passages: list[Passage], *, embedder: Embedder = cached_embed,
                        min_similarity: float = SUPPORT_MIN_SIMILARITY,
                        min_overlap: float = SUPPORT_MIN_OVERLAP) -> tuple[list[str], list[str]]:
    """Split `text` into sentences the passages back and sentences they do not.

    A sentence is backed when it appears verbatim in a passage (or its section), or when some passage
    sentence is close in meaning (embedding similarity) and the sentence's content words mostly occur in that
    passage and every number it states occurs there too (invented figures are the costly kind of error).
    """
    sentences = split_sentences(strip_citation_marks(text))
    if not sentences:
        return [], []
    if not passages:
        return [], sentences
    haystacks = [normalize(_evidence(p)) for p in passages]
    pending = [s for s in sentences if not any(normalize(s).rstrip(".") in h for h in haystacks)]
    verdict = {s: True for s in sentences if s not in pending}
    if pending:
        candidates = [(i, s) for i, p in enumerate(passages) for s in split_sentences(_evidence(p))]
        passage_tokens = [stems(_evidence(p)) for p in passages]
        passage_numbers = [numbers(_evidence(p)) for p in passages]
        vectors = embedder(pending + [s for _, s in candidates])
        claims, evidence = vectors[: len(pending)], vectors[len(pending):]
        sims = claims @ evidence.T if len(candidates) else np.zeros((len(pending), 0))
        for row, sentence in enumerate(pending):
            tokens, figures = stems(sentence), numbers(sentence)
            ok = False
            for col in np.argsort(-sims[row])[:5] if sims.shape[1] else []:
                if sims[row, col] < min_similarity:
                    break
                owner = candidates[col][0]
                overlap = len(tokens & passage_tokens[owner]) / len(tokens) if tokens else 1.0
                if overlap >= min_overlap and figures <= passage_numbers[owner]:
                    ok = True
                    break
            verdict[sentence] = ok
    supported = [s for s in sentences if verdict[s]]
    unsupported = [s for s in sentences if not verdict[s]]
    return supported, unsupported


def cite(passages: list[Passage], text: str = "") -> list[Citation]:
    """One citation per source, in the order given; `text` is the answer, which the snippets point into."""
    seen: set[str] = set()
    out = []
    for p in passages:
        if p.source not in seen:
            seen.add(p.source)
            out.append(p.citation(text))
    return out


def question_parts(question: str) -> list[str]:
    """The separate questions in one message ("How do I export, and can I delete it after?"), each with
    at least two key terms; a single question comes back alone."""
    parts = [p.strip(" ,.?") for p in _PART_SPLIT.split(question.strip()) if p and p.strip(" ,.?")]
    parts = [p for p in parts if len(key_terms(p)) >= 2]
    return parts if len(parts) > 1 else [question]


@dataclass
class Candidate:
    """A block of one passage's section, with what it is scored on."""

    passage: int
    order: int
    block: Block
    heading: str  # a label or question line just before the block: scored with it, never shown
    scored: str  # heading and the block's words, as far as the encoder reads
    probes: tuple[str, ...]  # its first sentences' opening words, as a retrieved chunk holding it would
    recent: bool = False  # in a section the last reply came from, when the question follows up on it


@dataclass(frozen=True)
class Sentence:
    """A sentence of a candidate block (of a paragraph, a list item or a list's lead-in), or a run of table
    rows whole: what a short answer is chosen from."""

    candidate: int
    line: int  # the block line it is on: one list item's sentences go together, items are not mixed
    text: str


def block_sentences(block: Block) -> tuple[tuple[int, str], ...]:
    """(line, sentence) for each sentence of three words or more that says something: not a title run into a
    paragraph (a few words with no full stop) nor a fragment; table rows are one unit (a row means nothing
    without the others). A FAQ's question line is kept, to come with the "Yes, ..." that answers it."""
    return _block_sentences(block.kind, tuple(block.lines))


@lru_cache(maxsize=4096)  # the blocks of the sections answers come from, split once
def _block_sentences(kind: str, lines: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    if kind == "rows":
        return ((0, "\n".join(lines)),)
    read = (" ".join(lines),) if kind == "paragraph" else lines
    return tuple((i, s) for i, line in enumerate(read) for s in _joined(split_sentences(line))
                 if len(s.split()) >= 3 and (s[0].isalnum() or s[0] in "\"'(")
                 and (kind == "list" or len(s.split()) > 12 or s.rstrip("\"')]").endswith((".", "!", "?", ":", ";"))))


_ABBREVIATION = re.compile(r"(?:^|\s)(?:[A-Z][a-z]{0,3}|[A-Z](?:\.[A-Z])+)\.$")  # "Bros.", "Dr.", "U.S."


def _joined(sentences: list[str]) -> list[str]:
    """Sentences split after an abbreviation ("Warner Bros. Studios") put back together."""
    out: list[str] = []
    for sentence in sentences:
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {sentence}"
        else:
            out.append(sentence)
    return out


def section_candidates(section_text: str, passage: int = 0, section: str = "") -> list[Candidate]:
    """Every block of a section an answer may use, in order, with the heading it sits under (a label or
    question line in the text, else the section's own heading)."""
    return [Candidate(passage, *parsed) for parsed in _parsed(section_text, section)]


@lru_cache(maxsize=1024)  # the sections answers come from: a few hundred in a help centre
def _parsed(section_text: str, section: str) -> tuple[tuple[int, Block, str, str, tuple[str, ...]], ...]:
    """A section's usable blocks, parsed and screened once, with the text each is scored on and the probes
    that find it in retrieved chunks: the same sections answer question after question, and parsing them
    (the safety screen's patterns on every sentence) was most of composing an answer."""
    out: list[tuple[int, Block, str, str, tuple[str, ...]]] = []
    heading = section
    for order, block in enumerate(blocks(section_text)):
        clean = _safe(block)
        if clean is None:
            continue
        if _is_heading(clean):
            heading = clean.text
            continue
        if clean.words >= 4:
            read = " ".join(clean.text.split()[:SCORED_WORDS])
            probes = (normalize(sentence)[:60] for sentence in clean.sentences()[:6])
            out.append((order, clean, heading, f"{heading}\n{read}" if heading else read,
                        tuple(probe for probe in probes if len(probe) >= 12)))
        heading = section
    return tuple(out)


def scoring_texts(section_text: str, section: str = "") -> list[str]:
    """What the composer embeds for a section: computed once at ingest, looked up at answer time. Every block
    as it is scored, then the sentences short answers are chosen from (a collection stored before they were
    added has them encoded when first read, and cached)."""
    parsed = section_candidates(section_text, section=section)
    return list(dict.fromkeys([c.scored for c in parsed] + [s for c in parsed for _, s in block_sentences(c.block)]))


@dataclass
class _Plan:
    """What composing an answer needs, before any vector: the usable passages, their blocks, and the texts
    to encode (`asked`: the question, the customer's previous one, its parts; then every block, then every
    sentence of them)."""

    question: str
    usable: list[Passage]
    top: float
    candidates: list[Candidate]
    said: list[str]
    parts: list[str]
    asked: list[str]
    runner_up: float = 0.0  # the best score of any other page, however far behind

    @cached_property
    def sentences(self) -> list[Sentence]:
        return [Sentence(i, line, text) for i, c in enumerate(self.candidates)
                for line, text in block_sentences(c.block)]

    @property
    def texts(self) -> list[str]:
        return self.asked + [c.scored for c in self.candidates] + [s.text for s in self.sentences]


class ExtractiveAnswerer:
    """Answers with sentences or whole blocks copied from the best-matching sections, and says when they do
    not answer."""

    def __init__(self, *, min_score: float = DEFAULT_MIN_SCORE, max_words: int = 90, max_list_items: int = 12,
                 passage_margin: float = 0.15, lexical_weight: float = 0.3, context_weight: float = 0.25,
                 min_part_coverage: float = 0.5, page_weight: float = 0.5, procedure_bonus: float = 0.05,
                 neighbour_margin: float = 0.05, follow_up_boost: float = 2.0, sentence_margin: float = 0.03,
                 switch_margin: float = 0.05, stand_out: float = 0.2, follow_up_margin: float = 0.05,
                 grounding: AnswerabilityModel | None = None, embedder: Embedder = cached_embed) -> None:
        self.min_score = min_score
        self.max_words = max_words
        self.max_list_items = max_list_items
        self.passage_margin = passage_margin
        self.lexical_weight = lexical_weight
        self.context_weight = context_weight
        self.min_part_coverage = min_part_coverage
        self.page_weight = page_weight
        self.procedure_bonus = procedure_bonus
        self.neighbour_margin = neighbour_margin
        self.follow_up_boost = follow_up_boost
        self.sentence_margin = sentence_margin  # a sentence next to the best one this close joins it
        self.switch_margin = switch_margin  # a sentence of another section of the page must be this much better
        self.stand_out = stand_out  # below this lead over the rest of its block, the block answers
        self.follow_up_margin = follow_up_margin  # a sentence where the last reply came from wins within this
        self.grounding = grounding or shipped()
        self.embedder = embedder

    async def answer(self, question: str, passages: list[Passage], history: Sequence[Exchange] = ()) -> Answer:
        """On the event loop: the texts to encode are awaited from the encoder's thread (blocks stored at
        ingest come from memory), and choosing and rendering are a millisecond of CPU."""
        plan = self._plan(question, passages, history)
        if plan is None:
            return Answer(text="", grounding=0.0)
        return self._compose(plan, await encode_async(self.embedder, plan.texts))

    def answer_sync(self, question: str, passages: list[Passage], history: Sequence[Exchange] = ()) -> Answer:
        plan = self._plan(question, passages, history)
        if plan is None:
            return Answer(text="", grounding=0.0)
        return self._compose(plan, self.embedder(plan.texts))

    def _plan(self, question: str, passages: list[Passage], history: Sequence[Exchange]) -> _Plan | None:
        """The passages close enough to the best one, their blocks, and every text the answer needs a vector
        for; None when nothing can answer."""
        usable = [p for p in passages if p.score >= self.min_score]
        if not usable or not question.strip():
            return None
        top = max(p.score for p in usable)
        # pages far behind the best one would drag in a different topic; within a page every retrieved
        # section is read (the steps may sit under their own heading, below the page's introduction)
        page_score: dict[str, float] = {}  # each page's best passage (a usable passage's page: a usable one)
        for p in passages:
            page_score[p.source] = max(page_score.get(p.source, 0.0), p.score)
        usable = [p.model_copy(update={"score": page_score[p.source]}) for p in usable
                  if page_score[p.source] >= top - self.passage_margin]
        candidates = self._candidates(usable, self._replied_from(question, usable, history))
        if not candidates:
            return None
        earlier = last_said(history, "customer")
        parts = question_parts(question)
        said = [question, earlier] if earlier else [question]  # (no vector for a turn nobody said)
        asked = [*said, *parts] if len(parts) > 1 else said
        runner_up = sorted(page_score.values(), reverse=True)[1] if len(page_score) > 1 else 0.0
        return _Plan(question, usable, top, candidates, said, parts, asked, runner_up)

    def _compose(self, plan: _Plan, vectors: np.ndarray) -> Answer:
        question, usable, top, candidates = plan.question, plan.usable, plan.top, plan.candidates
        said, parts = plan.said, plan.parts
        asked = vectors[: len(plan.asked)]
        block_vectors = vectors[len(plan.asked): len(plan.asked) + len(candidates)]
        earlier = len(said) > 1
        whole = self._focus(asked[0], asked[1] if earlier else None, elliptical(question))
        chosen, neighbour, similarity = self._best(question, whole, block_vectors, candidates, usable, top)
        picks = [chosen] if neighbour is None else [chosen, neighbour]
        uncovered: list[str] = []
        if len(parts) > 1:
            picks, uncovered = self._per_part(parts, asked[len(said):], block_vectors, candidates, usable, top, chosen)
        picks = sorted(dict.fromkeys(picks), key=lambda i: (candidates[i].passage, candidates[i].order))
        primary = candidates[chosen].passage if chosen in picks else candidates[picks[0]].passage
        text = ""
        for i in picks:
            piece = self._render(candidates, i)
            if normalize(piece) not in normalize(text):
                text = f"{text}\n\n{piece}" if text else piece
        verdict = ""
        short = self._sentence_answer(plan, whole, vectors[len(plan.asked) + len(candidates):], chosen)
        if short is not None:  # a sentence or two (or the block they sit in) answer it: that block is cited
            chosen, text, verdict = short
            picks, primary = [chosen], candidates[chosen].passage
            similarity = float(block_vectors[chosen] @ whole)  # (the measure answers are judged on: a block's)
        used_order = [primary] + [candidates[i].passage for i in picks if candidates[i].passage != primary]
        used = [usable[i] for i in dict.fromkeys(used_order)]
        # answers are judged on the block they come from, as the answerability model was fitted: a sentence
        # alone holds fewer of the question's words than the block that states it
        judged = self._render(candidates, chosen) if short is not None else text
        features = self._features(question, judged, candidates, chosen, usable, similarity)
        features.update(self._context_features(plan, asked, block_vectors[chosen], judged, candidates[chosen]))
        # blocks and sentences are copied word for word, so they are found verbatim and nothing is encoded here
        supported, unsupported = supported_sentences(text, used, embedder=self.embedder)
        total = len(supported) + len(unsupported)
        shown = with_polarity(text, verdict, _evidence(used[0]))  # "Yes, ..." / "No, ..." where the text says so
        return Answer(text=shown, citations=cite(used, text), support=len(supported) / total if total else 0.0,
                      grounding=round(self.grounding.probability(features), 4), unsupported_sentences=unsupported,
                      uncovered=uncovered, measures={k: round(v, 4) for k, v in features.items()})

    # -- choosing ---------------------------------------------------------------------------------

    def _candidates(self, usable: list[Passage], recent: set[int] | None = None) -> list[Candidate]:
        """Blocks of each retrieved section that the retrieved chunks touch, with the block on either side
        (a lead-in, the rest of a list), and every block of a section the last reply came from (the `recent`
        passages); a section retrieved through several chunks is read once."""
        replied = {(usable[i].source, normalize(_evidence(usable[i]))[:200]) for i in recent or ()}
        sections: dict[tuple[str, str], tuple[int, list[str]]] = {}
        for pi, passage in enumerate(usable):
            key = (passage.source, normalize(_evidence(passage))[:200])
            first, hits = sections.setdefault(key, (pi, []))
            hits.append(normalize(passage.text))
        out: list[Candidate] = []
        seen_blocks: set[str] = set()
        for key, (first, hits) in sections.items():
            parsed = section_candidates(_evidence(usable[first]), first, usable[first].section)
            touched = {c.order for c in parsed if any(probe in hit for probe in c.probes for hit in hits)}
            from_reply = key in replied
            wanted = {j for i in touched for j in (i - 1, i, i + 1)} \
                if usable[first].section_text and not from_reply else None
            for candidate in parsed:
                text = normalize(candidate.block.text)
                if (wanted is None or candidate.order in wanted) and text not in seen_blocks:
                    seen_blocks.add(text)
                    out.append(replace(candidate, recent=True) if from_reply else candidate)
        return out

    def _replied_from(self, question: str, usable: list[Passage], history: Sequence[Exchange]) -> set[int]:
        """The usable passages the last reply was composed from (by id, or holding its sentences word for
        word), when the question points back at that reply: a follow-up is looked for there first."""
        reply = next((e for e in reversed(history) if e.role == "support"), None)
        if reply is None or not refers_back(question, reply.text):
            return set()
        said = [s for s in (normalize(s) for s in split_sentences(reply.text)) if len(s) >= 20]
        return {i for i, p in enumerate(usable)
                if p.id in reply.passages or any(s in normalize(_evidence(p)) for s in said)}

    def _focus(self, question: np.ndarray, earlier: np.ndarray | None, follow_up: bool) -> np.ndarray:
        """The question's vector steered by the previous question, so a follow-up keeps its topic."""
        context = earlier[None, :] if earlier is not None else np.zeros((0, question.shape[0]), dtype=np.float32)
        return steer(question, context, self.context_weight * (self.follow_up_boost if follow_up else 1.0))

    def _relevance(self, text: str, vector: np.ndarray, block_vectors: np.ndarray, candidates: list[Candidate],
                   usable: list[Passage], top: float) -> np.ndarray:
        asked = key_terms(text)
        sims = block_vectors @ vector
        coverage = np.asarray([
            len(asked & term_set(c.scored)) / len(asked) if asked else 0.0 for c in candidates])
        # a block of a lower-ranked page must be clearly better to win
        rank = self.page_weight * np.asarray([usable[c.passage].score - top for c in candidates])
        # "how do I ..." asks for a procedure: numbered steps answer it better than the paragraph about it
        steps = self.procedure_bonus * np.asarray([_numbered_steps(c.block) for c in candidates]) \
            if _PROCEDURE.search(text) else 0.0
        return (1 - self.lexical_weight) * sims + self.lexical_weight * coverage + rank + steps

    def _best(self, question: str, vector: np.ndarray, block_vectors: np.ndarray, candidates: list[Candidate],
              usable: list[Passage], top: float) -> tuple[int, int | None, float]:
        """The best block, a neighbour that belongs with it (or None), and the best block's similarity."""
        relevance = self._relevance(question, vector, block_vectors, candidates, usable, top)
        best = int(np.argmax(relevance))
        return best, self._neighbour_as_good(best, relevance, candidates), float(block_vectors[best] @ vector)

    def _sentence_answer(self, plan: _Plan, whole: np.ndarray, sentence_vectors: np.ndarray,
                         chosen: int) -> tuple[int, str, str] | None:
        """For a question asking for one fact: (block, text, "yes"/"no"/""), the text being the sentence that
        states it, with the one next to it when that belongs to it (it scores nearly as well, or the best one
        points back at it), or the whole block when the best sentence does not stand out from the rest of it
        (the answer is spread over the block) unless it says yes or no or gives the figure asked for. None
        where whole blocks answer as before: a procedure, a list, an open question ("what is ...", "why
        ..."), a question in several parts, or no sentence that can stand alone.

        Sentences are read on the page of the block `chosen` for the question, another section's only when
        clearly better (`switch_margin`) and answering alone, so the page cited stays the one found for it; a
        follow-up takes a sentence from the sections of the last reply unless another is clearly better
        (`follow_up_margin`)."""
        question, candidates, units = plan.question, plan.candidates, plan.sentences
        if not units or len(plan.parts) > 1 or _PROCEDURE.search(question) or _LISTING.search(question) \
                or not (is_yes_no(question) or _NARROW.search(question)):
            return None
        page = plan.usable[candidates[chosen].passage].source
        relevance, covered = self._sentence_relevance(question, whole, sentence_vectors, plan)
        readable = [k for k, u in enumerate(units) if not u.text.endswith("?") and (
            candidates[u.candidate].recent or plan.usable[candidates[u.candidate].passage].source == page)]
        found_here = [k for k in readable if units[k].candidate == chosen]
        if not found_here:
            return None
        best = max(found_here, key=lambda k: relevance[k])
        elsewhere = max(readable, key=lambda k: relevance[k])
        if relevance[elsewhere] >= relevance[best] + self.switch_margin:
            best = elsewhere
        recent = [k for k in readable if candidates[units[k].candidate].recent and covered[k] > 0]
        if recent and relevance[(nearest := max(recent, key=lambda k: relevance[k]))] \
                >= relevance[best] - self.follow_up_margin:
            best = nearest
        unit = units[best]
        candidate = candidates[unit.candidate]
        if candidate.block.kind == "rows" or unit.text.endswith(":"):
            return unit.candidate, self._render(candidates, unit.candidate), ""
        line = [k for k in (best - 1, best + 1) if 0 <= k < len(units)
                and (units[k].candidate, units[k].line) == (unit.candidate, unit.line)]
        if leans_back(unit.text):
            extra = [k for k in line if k < best]
            if not extra:
                return None  # what it points back at is not in its block
        else:
            extra = sorted((k for k in line if relevance[k] >= relevance[best] - self.sentence_margin
                            and not units[k].text.endswith("?")), key=lambda k: -relevance[k])[:1]
        said = sorted([best, *extra])
        if sum(len(units[k].text.split()) for k in said) > self.max_words:
            said = [best]
        verdict = polarity(question, unit.text, f"{plan.usable[candidate.passage].title} {candidate.heading}") \
            if said[0] == best else ""
        mates = [relevance[k] for k, u in enumerate(units) if u.candidate == unit.candidate and k != best
                 and not u.text.endswith("?") and (candidate.block.kind != "list" or u.line == unit.line)]
        stands_out = not mates or relevance[best] - max(mates) >= self.stand_out
        figure = bool(_QUANTITY.search(question)) and bool(numbers(unit.text)) and not conditional(unit.text)
        if not (stands_out or verdict or figure):  # the answer is spread over a block: the one found for it
            return None if unit.candidate != chosen and not candidate.recent \
                else (unit.candidate, self._around(candidates, unit.candidate, unit.text), "")
        return unit.candidate, " ".join(units[k].text for k in said), verdict

    def _sentence_relevance(self, question: str, vector: np.ndarray, sentence_vectors: np.ndarray,
                            plan: _Plan) -> tuple[np.ndarray, np.ndarray]:
        """`_relevance` for sentences: meaning, and the key terms the sentence or its heading holds (also
        returned), a lower-ranked page's held back."""
        asked = key_terms(question)
        candidates = plan.candidates
        covered = np.asarray([
            len(asked & (term_set(candidates[u.candidate].heading) | term_set(u.text))) / len(asked) if asked else 0.0
            for u in plan.sentences])
        rank = self.page_weight * np.asarray([plan.usable[candidates[u.candidate].passage].score - plan.top
                                              for u in plan.sentences])
        relevance = (1 - self.lexical_weight) * (sentence_vectors @ vector) + self.lexical_weight * covered + rank
        return relevance, covered

    def _neighbour_as_good(self, best: int, relevance: np.ndarray, candidates: list[Candidate]) -> int | None:
        """The paragraph just before or after the best one, when it scores nearly as well and both fit in a
        chat bubble: the answer is then spread over the two (hours in one, channels in the next)."""
        for other in (best - 1, best + 1):
            if not 0 <= other < len(candidates):
                continue
            a, b = candidates[best], candidates[other]
            if a.passage == b.passage and abs(a.order - b.order) == 1 and b.block.kind == "paragraph" \
                    and a.block.kind == "paragraph" and relevance[other] >= relevance[best] - self.neighbour_margin \
                    and a.block.words + b.block.words <= self.max_words:
                return other
        return None

    def _per_part(self, parts: list[str], vectors: np.ndarray, block_vectors: np.ndarray,
                  candidates: list[Candidate], usable: list[Passage], top: float,
                  chosen: int) -> tuple[list[int], list[str]]:
        """Each part of a several-part question answered from its own best block, or named as not covered."""
        picks: list[int] = []
        uncovered: list[str] = []
        for part, vector in zip(parts, vectors):
            relevance = self._relevance(part, vector, block_vectors, candidates, usable, top)
            best = int(np.argmax(relevance))
            asked = key_terms(part)
            found = asked & term_set(candidates[best].scored + " " + usable[candidates[best].passage].title)
            if asked and len(found) / len(asked) >= self.min_part_coverage:
                picks.append(best)
            else:
                uncovered.append(part)
        return (picks or [chosen]), uncovered

    # -- writing ----------------------------------------------------------------------------------

    def _render(self, candidates: list[Candidate], index: int) -> str:
        """The block as the customer reads it: a list whole (up to `max_list_items`), a paragraph cut at a
        sentence end, starting where no pronoun has lost what it refers to; a short block takes its neighbour."""
        block = candidates[index].block
        if block.kind == "list":
            lines = block.lines
            return "\n".join(lines[: self.max_list_items + (0 if LIST_MARKER.match(lines[0]) else 1)])
        if block.kind == "rows":
            return "\n".join(block.lines[: self.max_list_items])
        sentences = block.sentences()
        text = _window(sentences, self.max_words)
        nxt = index + 1
        if len(text.split()) < 25 and nxt < len(candidates) and candidates[nxt].passage == candidates[index].passage \
                and candidates[nxt].order == candidates[index].order + 1 and not candidates[nxt].heading:
            following = candidates[nxt].block
            extra = "\n".join(following.lines[: self.max_list_items]) if following.kind != "paragraph" \
                else _window(following.sentences(), self.max_words - len(text.split()))
            text = f"{text}\n{extra}" if following.kind != "paragraph" else f"{text} {extra}"
        return text

    def _around(self, candidates: list[Candidate], index: int, sentence: str) -> str:
        """The block as `_render` shows it, or from `sentence` on when the block is too long to show it."""
        text = self._render(candidates, index)
        if normalize(sentence) in normalize(text):
            return text
        sentences = candidates[index].block.sentences()
        start = next((i for i, s in enumerate(sentences) if normalize(sentence) in normalize(s)), 0)
        return _window(sentences[start:], self.max_words)

    def _context_features(self, plan: _Plan, asked: np.ndarray, chosen_vector: np.ndarray, text: str,
                          chosen: Candidate) -> dict[str, float]:
        """How the question stands among the retrieved pages and the conversation: how far the best page leads
        the next one, how specific the question is, whether it leans on what was said before, and how much of
        what it turns on (its rare words) the answer and its page hold."""
        terms = key_terms(plan.question)
        weighted = weighted_terms(plan.question)
        page = plan.usable[chosen.passage]
        answer_weighted, answer_missing = coverage(weighted, term_set(f"{page.title} {chosen.heading} {text}"))
        page_weighted, page_missing = coverage(weighted, term_set(f"{page.title} {page.section} {_evidence(page)}"))
        return {
            "answer_weighted": answer_weighted, "answer_missing": answer_missing,
            "page_weighted": page_weighted, "page_missing": page_missing,
            "margin": plan.top - plan.runner_up,
            "key_terms": float(min(len(terms), 8)) / 8.0,
            "follow_up": 1.0 if len(plan.said) > 1 else 0.0,
            "question_similarity": float(chosen_vector @ asked[0]),
            "sentence_weighted": _best_sentence_coverage(weighted, plan.candidates, chosen.passage),
        }

    def _features(self, question: str, text: str, candidates: list[Candidate], chosen: int,
                  usable: list[Passage], similarity: float) -> dict[str, float]:
        asked = key_terms(question)
        page = usable[candidates[chosen].passage]
        page_terms = term_set(f"{page.title} {page.section} {_evidence(page)}")
        answer_terms = term_set(f"{page.title} {candidates[chosen].heading} {text}")
        return {
            "answer_coverage": len(asked & answer_terms) / len(asked) if asked else 0.5,
            "page_coverage": len(asked & page_terms) / len(asked) if asked else 0.5,
            "similarity": similarity,
            "retrieval": max(p.score for p in usable),
        }


def _best_sentence_coverage(weighted: dict[str, float], candidates: list[Candidate], passage: int) -> float:
    """The rarity-weighted share of the question's terms (`weighted_terms`) that one sentence of the answer's
    page holds: a fact asked for is stated in one sentence, not assembled from words scattered over a page."""
    best = 0.0
    for candidate in candidates:
        if candidate.passage == passage:
            for sentence in candidate.block.sentences():
                best = max(best, coverage(weighted, term_set(sentence))[0])
    return best


def _numbered_steps(block: Block) -> float:
    return 1.0 if block.kind == "list" and sum(bool(NUMBERED.match(line)) for line in block.lines) >= 2 else 0.0


def _is_heading(block: Block) -> bool:
    """A label line ("Account types") or a FAQ's question line: it names the block after it."""
    text = block.text.strip()
    return (block.kind == "rows" and len(block.lines) == 1) or (
        block.kind == "paragraph" and text.endswith("?") and len(split_sentences(text)) == 1)


def _safe(block: Block) -> Block | None:
    """The block without any sentence that must never reach a customer; None when nothing is left."""
    kept: list[str] = []
    for line in block.lines:
        sentences = split_sentences(line) or [line]
        if any(unsafe_for_customers(s) for s in sentences):
            clean = [s for s in sentences if not unsafe_for_customers(s)]
            if not clean or block.kind == "list":
                continue
            line = " ".join(clean)
        kept.append(line)
    return Block(block.kind, kept) if kept else None


def _window(sentences: list[str], max_words: int) -> str:
    """Sentences from the start of the paragraph, up to `max_words` (at least one)."""
    out: list[str] = []
    words = 0
    for sentence in sentences:
        n = len(sentence.split())
        if out and words + n > max_words:
            break
        out.append(sentence)
        words += n
    return " ".join(out)
