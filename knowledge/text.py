"""Words, sentences and blocks of help-centre text: what the composer, the support check and search share.

A block is the unit an answer is built from: a paragraph, a list with the sentence that leads into it
(numbered steps stay whole and in order), or a run of table rows. Answers never cut inside a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that "
    "these those you your yours we our us they them their i me my he she his her do does did can could will "
    "would should may might must not no so than then there here what which who whom how when where why all any "
    "each other some such only own same too very just also into out up down over under again about after before "
    "has have had having once more most both few until while because through during per".split()
)
# Words that carry the asking, not the topic: a question is not "about" them.
ASKING_WORDS = frozenset(
    "tell know explain please need want like get help thanks thank ok okay way ways possible able mean means "
    "meaning someone something thing things info information detail details else kind kinds type types "
    "example examples happen happens give show let find see say said"
    " ok yes yeah hi hello hey".split()
)

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,:/-][a-z0-9]+)*")
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+")
_GAP = re.compile(r"^\s*\[\.\.\.\]\s*$")


_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=8192)  # the same help-centre sentences are compared turn after turn
def normalize(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def content_tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def stem(token: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token


def stems(text: str) -> set[str]:
    return {stem(t) for t in content_tokens(text)}


def words(text: str) -> list[str]:
    """Lower-cased words without the commonest function words (what lexical search indexes)."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def key_terms(text: str) -> set[str]:
    """What a question is about: its content words (stemmed, split at punctuation), without asking words."""
    return {stem(w) for w in words(text) if w not in ASKING_WORDS and (len(w) > 1 or w.isdigit())}


_ANAPHORA = re.compile(r"\b(?:it|its|it's|they|them|their|that|this|those|these|one|ones|he|she|his|her)\b", re.I)


def elliptical(question: str) -> bool:
    """A follow-up that points back at something said before ("is it free?", "can I undo that?")."""
    return bool(_ANAPHORA.search(question))


@lru_cache(maxsize=4096)  # blocks and whole sections (up to 12,000 characters): tens of MB at most
def term_set(text: str) -> frozenset[str]:
    """Every stemmed word of a text, for checking which key terms it contains (help-centre blocks recur in
    answer after answer, so each is read once)."""
    return frozenset(stem(w) for w in _WORD.findall(text.lower()))


def split_sentences(text: str) -> list[str]:
    """Sentences and list items; headings (`# ...`) are not sentences."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or _GAP.match(line):
            continue
        line = LIST_MARKER.sub("", line)
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


@dataclass
class Block:
    """A paragraph, a list (with its lead-in) or table rows, in page order."""

    kind: str  # "paragraph" | "list" | "rows"
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) if self.kind != "paragraph" else " ".join(self.lines)

    def sentences(self) -> list[str]:
        return split_sentences("\n".join(self.lines))

    @property
    def words(self) -> int:
        return len(self.text.split())


def _is_row(line: str) -> bool:
    """A short line with no sentence end: a table cell or a label rather than prose."""
    return len(line.split()) <= 6 and not line.rstrip().endswith((".", ":", "?", "!"))


def blocks(text: str) -> list[Block]:
    """Split a section into blocks. Consecutive list items form one list, even across a blank line when the
    numbering goes on; a paragraph ending in ':' leads into the list after it; `[...]` gaps end a block."""
    out: list[Block] = []
    current: Block | None = None
    last_number = 0
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            current = None
            continue
        if _GAP.match(line):
            current = None
            continue
        if not line:
            if current is not None and current.kind == "paragraph":
                current = None
            continue
        numbered = NUMBERED.match(line)
        if LIST_MARKER.match(line):
            continues = current is not None and current.kind == "list" and (
                not numbered or int(numbered.group(1)) == last_number + 1)
            if not continues and numbered and int(numbered.group(1)) == last_number + 1:
                # the numbering goes on after a note between two steps: the note belongs to the list
                earlier = next((i for i in range(len(out) - 1, max(len(out) - 3, -1), -1)
                                if out[i].kind == "list"), None)
                if earlier is not None:
                    for note in out[earlier + 1:]:
                        out[earlier].lines.append(note.text)
                    del out[earlier + 1:]
                    current, continues = out[earlier], True
            if not continues:
                lead = out[-1] if out and current is not None and current.kind == "paragraph" \
                    and current.lines[-1].endswith(":") else None
                if lead is not None:
                    lead.kind = "list"
                    current = lead
                else:
                    current = Block("list")
                    out.append(current)
            assert current is not None
            current.lines.append(line)
            last_number = int(numbered.group(1)) if numbered else last_number
            continue
        if current is not None and current.kind == "list":
            if _is_row(line) or not raw.startswith((" ", "\t")):
                current = None
            else:  # an indented continuation of the last item
                current.lines[-1] += " " + line
                continue
        kind = "rows" if _is_row(line) else "paragraph"
        if current is None or current.kind != kind:
            current = Block(kind)
            out.append(current)
        current.lines.append(line)
    return [b for b in out if b.lines]
