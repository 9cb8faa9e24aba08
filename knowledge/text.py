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
    """A word's crude stem: "expire", "expires", "expired" and "expiring" all become "expir"."""
    for suffix in ("ing", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token[:-1] if token.endswith("e") and len(token) > 3 else token


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


# -- sentences that lean on the one before, follow-ups, yes/no questions --------------------------------

_LEANS_BACK = re.compile(r"^(?:it|its|it's|they|them|their|this|that|these|those|such|he|she|his|her|there|"
                         r"(?:after|before|during|until|in|for|with|without|besides|despite) "
                         r"(?:that|this|it|them|those|these)|otherwise|however|instead|then|yes|no)\b", re.I)
_DEFINITE = re.compile(r"\b(?:the|your|my|our|that|this)\s+([a-z0-9]+)(?:\s+([a-z0-9]+))?", re.I)


def leans_back(sentence: str) -> bool:
    """A sentence that opens with a word pointing at the one before ("It expires ...", "After that ...",
    "Yes, ..." after a question): it cannot be shown without it."""
    return bool(_LEANS_BACK.match(sentence.strip()))


def refers_back(question: str, earlier: str) -> bool:
    """A question pointing back at what was just said: "is it free?", or "does the link expire?" after a reply
    that spoke of a link."""
    if not earlier.strip():
        return False
    if elliptical(question):
        return True
    said = term_set(earlier)
    return any(stem(word.lower()) in said for match in _DEFINITE.finditer(question)
               for word in match.groups() if word and word.lower() not in STOPWORDS)


_AUXILIARY = r"(?:is|are|can|could|do|does|did|will|would|should|has|have|may)"
_YES_NO = re.compile(rf"^(?:(?:and|so|but|also|ok|okay|well|then|hi|hello|hey)\b[,!]?\s+)*{_AUXILIARY}\s+"
                     r"(?!you\s+(?:please\s+)?(?:tell|explain|show|help|let|give|send|check)\b)", re.I)
_NOT_YES_NO = re.compile(r"\b(?:how|what|when|where|why|which|who|whom|whose|or)\b", re.I)
_ANSWERED = re.compile(r"^\W*(?:yes|no)\b", re.I)  # the page says "yes" or "no" itself
_NEGATION = re.compile(r"\b(?:cannot|can't|can not|not|never|none|nothing|neither|nor|won't|don't|doesn't|isn't|"
                       r"aren't|wasn't|weren't|couldn't|shouldn't|wouldn't|haven't|hasn't|hadn't|didn't|mustn't)\b"
                       r"|(?<![\w-])no(?![\w-])", re.I)
_RESTRICTION = re.compile(r"\b(?:only|except|unless|exclusively|solely)\b", re.I)
_CONDITION = re.compile(r"^(?:if|when|whenever|once|unless|until|where|in case|as long as)\b", re.I)
_CLAUSE = re.compile(r"\s*[,;:()]\s*|\s+(?:but|so|because|although|though|while|whereas)\s+", re.I)
# words that set the case a question asks about: a sentence without them answers another case
_QUALIFIERS = frozenset("after before within over under outside inside more less fewer every any all each without "
                        "free again twice once".split())
# pairs where "only X" rules out the other ("only once" for "can I use it twice?"), as `_roots` reads them
_CONTRASTS = {"onc": frozenset({"twic", "again", "reus", "multipl", "more", "sever", "repeat"})}


def is_yes_no(question: str) -> bool:
    """A question a "yes" or a "no" answers: it opens with an auxiliary ("Can I ...", "Does it ..."), asks no
    "how/what/which", offers no alternatives ("... or ...") and denies nothing itself."""
    text = question.strip().replace("\u2019", "'")
    return bool(_YES_NO.match(text)) and not _NOT_YES_NO.search(text) and not _NEGATION.search(text)


def conditional(sentence: str) -> bool:
    """A sentence that holds in one case of several ("If the claim is for $1,500 or less, ...")."""
    return bool(_CONDITION.match(sentence.strip()))


def _root(word: str) -> str:
    """A stem with a final "e" and a doubled last letter dropped, so that "expire" meets "expires" and
    "cancel" meets "cancelling" when a yes or a no is read."""
    s = stem(word)
    s = s[:-1] if len(s) >= 4 and s.endswith("e") else s
    return s[:-1] if len(s) >= 4 and s[-1] == s[-2] else s


def _roots(text: str) -> set[str]:
    return {_root(w) for w in _WORD.findall(text.lower())}


_ASKING_ROOTS = frozenset(_root(w) for w in ASKING_WORDS)


def _asked(question: str) -> set[str]:
    """The question's key terms as `_roots` reads them ("getting" is an asking word like "get")."""
    return {r for w in words(question) if (len(w) > 1 or w.isdigit()) and (r := _root(w)) not in _ASKING_ROOTS}


def _main_word(question: str) -> str:
    """The first word after the auxiliary that is not a pronoun or an article: "need" in "Do I need an agent?",
    "cancel" in "Can I cancel ...?"; asking words count here, since the question turns on them."""
    rest = _YES_NO.sub("", question.strip().replace("\u2019", "'"), count=1)
    return next((_root(w) for w in _WORD.findall(rest.lower()) if w not in STOPWORDS), "")


def polarity(question: str, sentence: str, heading: str = "") -> str:
    """"no" when the sentence denies what a yes/no question asks, "yes" when it states it, "" when it does
    neither plainly (the sentence then answers on its own). `heading` is the line the sentence sits under.

    No: the sentence with its heading names two thirds of what the question names, and a clause of it, not an
    "if/when" clause, holding some of it negates ("cannot", "not", "never", "no"), or restricts ("only",
    "except") to a case next to the one asked ("weekdays only" for weekends, "only once" for twice).
    Yes: no negation, restriction or condition at all; every term of the question, its main word, numbers
    and qualifiers ("after", "any", "free" ...) in the sentence.
    """
    if not is_yes_no(question) or _ANSWERED.match(sentence):
        return ""
    asked = _asked(question)
    if not asked:
        return ""
    sentence = sentence.replace("\u2019", "'")
    found = _roots(sentence)
    if len(asked & (found | _roots(heading))) * 3 >= len(asked) * 2:
        for clause in _CLAUSE.split(sentence):
            if not clause or _CONDITION.match(clause):
                continue
            terms = _roots(clause)
            if not asked & terms:
                continue
            if _NEGATION.search(clause):
                return "no"
            if _RESTRICTION.search(clause) and any(_next_to(a, t) for a in asked - found for t in terms):
                return "no"
    if _NEGATION.search(sentence) or _RESTRICTION.search(sentence) or conditional(sentence):
        return ""
    plain = set(_WORD.findall(sentence.lower()))
    if asked <= found and _main_word(question) in found | {""} and numbers(question) <= numbers(sentence) \
            and set(_WORD.findall(question.lower())) & _QUALIFIERS <= plain:
        return "yes"
    return ""


def _next_to(asked: str, said: str) -> bool:
    """Two words for neighbouring cases: a shared start of four letters or more ("weekend" and "weekday"),
    or a known pair ("once" and "twice")."""
    if asked == said:
        return False
    shared = next((i for i, (a, b) in enumerate(zip(asked, said)) if a != b), min(len(asked), len(said)))
    return shared >= 4 or asked in _CONTRASTS.get(said, frozenset())


_FIRST_WORD = re.compile(r"[A-Za-z0-9][\w-]*")


def with_polarity(answer: str, verdict: str, context: str = "") -> str:
    """"Yes, " or "No, " before the answer, its first letter lowered unless the word is a name or an acronym."""
    if verdict not in ("yes", "no") or not answer:
        return answer
    first = _FIRST_WORD.match(answer)
    keep = first is not None and _named(first.group(), context)
    return f"{verdict.capitalize()}, {answer if keep else answer[:1].lower() + answer[1:]}"


def _named(word: str, context: str) -> bool:
    """A name or an acronym: "I", capitals or digits inside the word ("SMS", "YubiKey", "2FA"), or a word (not
    a function word) that `context` writes with a capital inside a sentence ("Acme")."""
    if word == "I" or any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word):
        return True
    if word.lower() in STOPWORDS or not word[:1].isupper():
        return False
    return any(word in sentence.split()[1:] for sentence in split_sentences(context))
