"""A trainable message categorizer that fits in a few CPU minutes and needs no GPU.

Features are the frozen sentence embedding (meaning) next to TF-IDF word and character n-grams (the exact
keywords that separate near-duplicate intents such as `card_arrival` vs `card_delivery_estimate`). A linear SVM
over both beats logistic regression on the embedding alone and trains in seconds; fine-tuning the top encoder
layers on a CPU took ten times longer for no better accuracy.

Everything that needs held-out data (softmax temperature, a confidence model, the rejection threshold) is
fitted on out-of-fold predictions over the training lines, so no split is wasted and the few out-of-scope
lines serve both as a class and as the yardstick for the threshold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from bot.ports import Prediction
from knowledge.embedding import cached_embed, embed

UNKNOWN = "unknown"
_FORMAT = "supportbot-categorizer/1"


@dataclass
class _Featurizer:
    """Embedding (scaled so it weighs against the sparse blocks) + char and word TF-IDF."""

    embedding_weight: float = 2.0
    chars: TfidfVectorizer = field(default_factory=lambda: TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, lowercase=True))
    words: TfidfVectorizer = field(default_factory=lambda: TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, lowercase=True))

    def fit(self, texts: list[str]) -> _Featurizer:
        # min_df=2 would leave tiny training sets without any character feature.
        if len(texts) < 50:
            self.chars.set_params(min_df=1)
        self.chars.fit(texts)
        self.words.fit(texts)
        return self

    def transform(self, texts: list[str], vectors: np.ndarray) -> sp.csr_matrix:
        """`vectors` are `embed(texts)`, passed in because the caller needs them too."""
        return sp.hstack([sp.csr_matrix(vectors * self.embedding_weight),
                          self.chars.transform(texts), self.words.transform(texts)]).tocsr()


class _TfidfScores:
    """One fitted TF-IDF block times its slice of the SVM's weights, computed per text from the vocabulary
    (the same numbers as `transform` then `decision_function`, without scikit-learn's per-call input checks,
    which cost a single message more than the arithmetic)."""

    def __init__(self, vectorizer: TfidfVectorizer, weights: np.ndarray) -> None:
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.norm = vectorizer.norm
        self.weights = weights  # (classes, terms)

    def __call__(self, text: str) -> np.ndarray:
        counts = Counter(i for term in self.analyze(text) if (i := self.vocabulary.get(term)) is not None)
        if not counts:
            return np.zeros(self.weights.shape[0])
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.sublinear:
            tf = np.log(tf) + 1.0
        values = tf * self.idf[columns]
        if self.norm == "l2":
            values /= np.sqrt(values @ values)
        elif self.norm == "l1":
            values /= np.abs(values).sum()
        return self.weights[:, columns] @ values


class _LinearScores:
    """`svm.decision_function(featurizer.transform(texts, vectors))`, block by block: the embedding block is
    one matrix product, each TF-IDF block touches only the columns of the terms a message has."""

    def __init__(self, featurizer: _Featurizer, svm: LinearSVC) -> None:
        coef = np.asarray(svm.coef_, dtype=np.float64)
        width = coef.shape[1] - len(featurizer.chars.vocabulary_) - len(featurizer.words.vocabulary_)
        chars_end = width + len(featurizer.chars.vocabulary_)
        self.embedding = coef[:, :width] * featurizer.embedding_weight
        self.blocks = [_TfidfScores(featurizer.chars, coef[:, width:chars_end]),
                       _TfidfScores(featurizer.words, coef[:, chars_end:])]
        self.intercept = np.asarray(svm.intercept_, dtype=np.float64)

    def __call__(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        scores = vectors.astype(np.float64) @ self.embedding.T + self.intercept
        for row, text in enumerate(texts):
            for block in self.blocks:
                scores[row] += block(text)
        return scores[:, 0] if scores.shape[1] == 1 else scores


def _per_label(scores: np.ndarray) -> np.ndarray:
    """One column per label: a two-label LinearSVC scores only the second, the first is its negative."""
    return np.stack([-scores, scores], axis=1) if scores.ndim == 1 else scores


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _neighbour_similarity(queries: np.ndarray, reference: np.ndarray, k: int = 5) -> np.ndarray:
    """Mean cosine similarity to the k nearest in-scope training messages: low means nothing alike was seen."""
    if len(reference) == 0:
        return np.zeros(len(queries), dtype=np.float32)
    k = min(k, len(reference))
    out = np.empty(len(queries), dtype=np.float32)
    for i in range(0, len(queries), 1024):
        sims = queries[i:i + 1024] @ reference.T
        out[i:i + 1024] = np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)
    return out


def _quantiles(values: np.ndarray, points: int = 1001) -> np.ndarray:
    """A compact empirical distribution: enough to rank new scores without storing every training one."""
    return np.quantile(values, np.linspace(0.0, 1.0, points)).astype(np.float64)


def _rank(quantiles: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of the reference scores below each value (an empirical CDF, 0..1)."""
    return np.interp(values, quantiles, np.linspace(0.0, 1.0, len(quantiles)), left=0.0, right=1.0)


def _wilson_lower(successes: np.ndarray, n: int, z: float = 1.0) -> np.ndarray:
    """Lower Wilson bound of a rate seen on n trials (z=1: one standard error).

    The out-of-scope recall is measured on few lines (often about a hundred), so meeting a target exactly on
    them misses it on new messages about half the time; asking the bound to meet it adds a margin that
    shrinks as more out-of-scope lines are given.
    """
    rate = successes / n
    centre = rate + z * z / (2 * n)
    spread = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood (a 1-D grid is enough for one parameter)."""
    grid = np.exp(np.linspace(np.log(0.01), np.log(10.0), 121))
    rows = np.arange(len(y))
    nll = [-np.mean(np.log(_softmax(scores, t)[rows, y] + 1e-12)) for t in grid]
    return float(grid[int(np.argmin(nll))])


def _best_threshold(conf: np.ndarray, forced: np.ndarray, correct: np.ndarray, is_oos: np.ndarray | None,
                    min_oos_recall: float = 0.9) -> float:
    """The cut-off `tune_threshold` picks; `forced` marks messages rejected whatever it is (`oos` won).

    With out-of-scope examples: the highest in-scope accuracy (a rejected in-scope message counts as wrong)
    among thresholds that reject at least `min_oos_recall` of the out-of-scope ones, since an off-topic
    message answered as an intent is the costlier error; if none gets there, the best sum of the two.
    Without them: the most right accept/reject decisions (accepted and correct, or rejected where the top
    label would have been wrong).
    """
    candidates = np.unique(np.concatenate([[0.0], np.quantile(conf, np.linspace(0.0, 1.0, 1001))]))
    accept = ~forced[None, :] & (conf[None, :] >= candidates[:, None])
    if is_oos is not None and is_oos.any() and (~is_oos).any():
        in_scope_acc = (accept[:, ~is_oos] & correct[~is_oos]).mean(axis=1)
        oos_recall = (~accept[:, is_oos]).mean(axis=1)
        feasible = _wilson_lower(oos_recall * is_oos.sum(), int(is_oos.sum())) >= min_oos_recall
        values = np.where(feasible, in_scope_acc, -1.0) if feasible.any() else in_scope_acc + oos_recall
    else:
        values = np.where(accept, correct, ~correct).mean(axis=1)
    winners = np.flatnonzero(values >= values.max() - 1e-12)
    # A winning cut-off holds up to the next candidate; the middle of the whole run is the least fragile.
    lo = candidates[winners.min()]
    hi = candidates[min(winners.max() + 1, len(candidates) - 1)]
    return float((lo + hi) / 2)


@dataclass
class _Confidence:
    """P(top intent is right) from the rank of the calibrated probability and of the neighbour similarity.

    Each score is ranked against its out-of-fold in-scope distribution and the two ranks are averaged, so
    neither dominates by scale; a logistic fit on that average turns it into a probability. A logistic model
    over the raw pair weighs its inputs by how well they separate right from wrong in-scope answers, which the
    hundred-odd out-of-scope lines barely move, and it rejected fewer of those.
    """

    prob_quantiles: np.ndarray
    sim_quantiles: np.ndarray
    model: LogisticRegression | None = None

    def score(self, best_p: np.ndarray, neighbour_sim: np.ndarray) -> np.ndarray:
        ranks = (_rank(self.prob_quantiles, best_p) + _rank(self.sim_quantiles, neighbour_sim)) / 2
        if self.model is None:
            return ranks
        # a one-feature logistic regression's P(right), as predict_proba gives it, without its input checks
        return expit(ranks * float(self.model.coef_[0, 0]) + float(self.model.intercept_[0]))


class TrainedCategorizer:
    """`Categorizer` backed by a linear SVM over embedding + n-gram features.

    The reported probability is P(top intent is right), from `_Confidence` (ranks of the calibrated intent
    probability and of the similarity to the nearest training messages) fitted on out-of-fold predictions. The SVM
    probability alone misses out-of-scope messages that happen to sit far from every intent; nearness to
    known messages catches most of them.
    """

    def __init__(self, featurizer: _Featurizer, svm: LinearSVC, reference: np.ndarray, *,
                 oos_label: str | None, temperature: float = 1.0,
                 confidence: _Confidence | None = None, threshold: float = 0.0) -> None:
        self.featurizer = featurizer
        self.svm = svm
        self.reference = reference  # embeddings of the in-scope training messages
        self.classes: list[str] = [str(c) for c in svm.classes_]
        self.oos_label = oos_label  # set only when the training data had out-of-scope lines
        self.temperature = temperature
        self.confidence = confidence
        self.threshold = threshold
        self._linear = _LinearScores(featurizer, svm)

    # -- training -------------------------------------------------------------------------------
    @classmethod
    def train(cls, examples: Sequence[tuple[str, str]], *, oos_label: str = "oos", c: float = 1.0,
              embedding_weight: float = 2.0, folds: int = 3, seed: int = 0,
              min_oos_recall: float = 0.9, unknown_below: float = 0.2) -> TrainedCategorizer:
        """Fit on (text, label) pairs; calibration and threshold come from `folds`-fold out-of-fold scores.

        With `oos` lines the threshold is the one `_best_threshold` picks for `min_oos_recall`. Without them
        nothing shows what an off-topic message looks like, and every rejection of a right answer costs an
        escalation, so only answers whose P(right) is below `unknown_below` (wrong four times as likely as
        right at 0.2) become `unknown`.
        """
        texts = [t for t, _ in examples]
        labels = np.array([lab for _, lab in examples])
        counts = Counter(labels.tolist())
        if len(counts) < 2:
            raise ValueError("need examples of at least two labels to train a categorizer")
        vectors = embed(texts)
        featurizer = _Featurizer(embedding_weight=embedding_weight).fit(texts)
        x = featurizer.transform(texts, vectors)
        has_oos = oos_label in counts
        in_scope = labels != oos_label
        model = cls(featurizer, LinearSVC(C=c).fit(x, labels), vectors[in_scope],
                    oos_label=oos_label if has_oos else None)

        k = min(folds, min(counts.values()))
        if k < 2:
            return model  # too few lines per label to hold any out: keep temperature 1, threshold 0
        scores = np.zeros((len(texts), len(model.classes)))
        neighbour_sim = np.zeros(len(texts), dtype=np.float32)
        for tr, va in StratifiedKFold(k, shuffle=True, random_state=seed).split(texts, labels):
            fold = LinearSVC(C=c).fit(x[tr], labels[tr]).decision_function(x[va])
            scores[va] = _per_label(fold)
            neighbour_sim[va] = _neighbour_similarity(vectors[va], vectors[tr[in_scope[tr]]])
        model.temperature = _fit_temperature(scores, np.searchsorted(np.array(model.classes), labels))
        label, best_p, forced = model._decode(_softmax(scores, model.temperature))
        right = label == labels
        if in_scope.any():
            model.confidence = _Confidence(_quantiles(best_p[in_scope]), _quantiles(neighbour_sim[in_scope]))
            if 0 < right.sum() < len(right):
                ranks = model.confidence.score(best_p, neighbour_sim)
                model.confidence.model = LogisticRegression().fit(ranks[:, None], right)
        if has_oos:
            conf = model._confidence(best_p, neighbour_sim)
            model.threshold = _best_threshold(conf, forced, right, ~in_scope, min_oos_recall)
        elif model.confidence is not None and model.confidence.model is not None:
            model.threshold = unknown_below
        return model

    def tune_threshold(self, val_examples: Sequence[tuple[str, str]], *, min_oos_recall: float = 0.9) -> float:
        """Set and return the threshold `_best_threshold` picks on these examples."""
        labels = np.array([lab for _, lab in val_examples])
        label, conf, forced = self._score([t for t, _ in val_examples])
        is_oos = labels == self.oos_label if self.oos_label else None
        self.threshold = _best_threshold(conf, forced, label == labels, is_oos, min_oos_recall)
        return self.threshold

    # -- prediction ------------------------------------------------------------------------------
    def _decode(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best in-scope label, its probability, and whether the `oos` class outscored it."""
        in_scope = probs.copy()
        forced = np.zeros(len(probs), dtype=bool)
        if self.oos_label:
            oos_col = self.classes.index(self.oos_label)
            in_scope[:, oos_col] = -1.0
            forced = probs.argmax(axis=1) == oos_col
        best = in_scope.argmax(axis=1)
        return np.array(self.classes)[best], in_scope[np.arange(len(probs)), best], forced

    def _confidence(self, best_p: np.ndarray, neighbour_sim: np.ndarray) -> np.ndarray:
        if self.confidence is None:
            return best_p
        return self.confidence.score(best_p, neighbour_sim)

    def _score(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top in-scope label, P(it is right), and whether the `oos` class won outright. The vectors come
        from the shared cache, so the turn's retrieval and composer reuse the question's vector."""
        vectors = cached_embed(texts)
        scores = _per_label(self._linear(texts, vectors))
        label, best_p, forced = self._decode(_softmax(scores, self.temperature))
        return label, self._confidence(best_p, _neighbour_similarity(vectors, self.reference)), forced

    def top_intents(self, texts: list[str]) -> list[tuple[Prediction, bool]]:
        """Best in-scope intent per text with P(it is right), ignoring the threshold, and whether the
        `oos` class outscored every intent (useful to offer suggestions when rejecting)."""
        if not texts:
            return []
        label, conf, forced = self._score(list(texts))
        return [(Prediction(label=str(lab), probability=float(p)), bool(f))
                for lab, p, f in zip(label, conf, forced)]

    def decide(self, top: list[tuple[Prediction, bool]]) -> list[Prediction]:
        """Apply the threshold: a rejected message carries 1 - P(top intent is right)."""
        reject = self.oos_label or UNKNOWN
        return [p if not forced and p.probability >= self.threshold
                else Prediction(label=reject, probability=1.0 - p.probability) for p, forced in top]

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Label per text; `oos` (trained with out-of-scope lines) or `unknown` below the threshold."""
        return self.decide(self.top_intents(texts)) if texts else []

    # -- persistence ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """One joblib file of scikit-learn objects, arrays and plain values (the encoder is not stored)."""
        joblib.dump({"format": _FORMAT, "featurizer": self.featurizer, "svm": self.svm,
                     "reference": self.reference, "oos_label": self.oos_label,
                     "temperature": self.temperature, "confidence": self.confidence,
                     "threshold": self.threshold}, Path(path), compress=3)

    @classmethod
    def load(cls, path: str | Path) -> TrainedCategorizer:
        """Load an artifact written by `save`; joblib unpickles, so only load files you produced."""
        data = joblib.load(Path(path))
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{path}: not a categorizer artifact ({_FORMAT})")
        return cls(data["featurizer"], data["svm"], data["reference"], oos_label=data["oos_label"],
                   temperature=data["temperature"], confidence=data["confidence"],
                   threshold=data["threshold"])
