"""The confidence floor a category can prove: answers at or above it are false at most `alpha` of the time, and
the claim holds with probability at least `1 - delta` over which turns happened to be reviewed.

A suggested floor read off past reviews ("above 0.8, 95 % were approved") is optimistic: it is the floor that
looked best on these reviews, and a new sample would often show more false answers above it. Here each
candidate floor is a statistical test instead. Its answered turns (the reviewed turns at or above it) give an
exact binomial (Clopper-Pearson) upper bound on their false-answer rate; the floor is proven when that bound is
at most `alpha`. Candidates are tried from the highest to the lowest and the scan stops at the first that fails
(fixed-sequence testing, as in "Learn then Test", Angelopoulos et al.): each test spends the whole `delta`
because no lower floor is ever looked at once a higher one has failed.

Assumption: the reviewed turns are exchangeable with the turns the floor will govern (the same traffic, the
same way of computing the confidence), and the false-answer rate does not fall as the floor is lowered, which
is what a confidence is for. The scan starts at the first candidate with enough reviewed turns for any bound to
reach `alpha`, chosen from the confidences alone, never from the labels.

Standard library only: the binomial tail is summed in log space from the term nearest the cut, so it agrees with
an exact (arbitrary-precision) sum to about 1e-10 relative and stays finite for hundreds of thousands of reviews.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol, TypeGuard

from pydantic import BaseModel, Field, PrivateAttr

Edited = Literal["substantial", "wrong"]
# an edited draft whose sent text is at least this similar to it was right as it stood (the same line
# `supportbot train confidence` draws between a touch-up and a rewrite)
EDIT_STILL_RIGHT = 0.9
_NEGLIGIBLE = 1e-17  # a term this much smaller than the running sum no longer moves a double
_MAX_REVIEWS = 10_000_000  # beyond this many, "more reviews needed" is reported as out of reach


def _log_term(i: int, n: int, p: float) -> float:
    """log of P(Binomial(n, p) = i), for 0 < p < 1."""
    return (math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * math.log(p) + (n - i) * math.log1p(-p))


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) ≤ k), to about 1e-10 relative (the log-gamma of large counts limits it).

    Only the tail on the far side of the mode is summed (the other side is one minus it), starting from the
    term next to the cut: the terms then shrink monotonically, so the sum stops once they no longer count.
    """
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    q = 1.0 - p
    if k < math.floor((n + 1) * p):  # lower tail: terms k, k-1, ..., each smaller than the one before
        total, term, i = 0.0, 1.0, k
        while True:
            total += term
            if i == 0 or term < _NEGLIGIBLE * total:
                break
            term *= i * q / ((n - i + 1) * p)
            i -= 1
        return min(1.0, math.exp(_log_term(k, n, p) + math.log(total)))
    total, term, i = 0.0, 1.0, k + 1  # upper tail: terms k+1, k+2, ..., each smaller than the one before
    while True:
        total += term
        if i == n or term < _NEGLIGIBLE * total:
            break
        term *= (n - i) * p / ((i + 1) * q)
        i += 1
    return max(0.0, 1.0 - math.exp(_log_term(k + 1, n, p) + math.log(total)))


def clopper_pearson_upper(errors: int, n: int, delta: float) -> float:
    """The one-sided (1 - delta) Clopper-Pearson upper bound on a rate seen as `errors` in `n`: the rate at
    which seeing so few errors has probability exactly `delta` (the Beta(errors + 1, n - errors) quantile)."""
    if not 0 < delta < 1:
        raise ValueError(f"delta must be between 0 and 1, got {delta}")
    if n <= 0 or errors >= n:
        return 1.0
    if errors <= 0:
        return -math.expm1(math.log(delta) / n)  # (1 - p)^n = delta, solved without cancellation
    low, high = errors / n, 1.0  # the cdf falls as the rate grows; at the observed rate it is above delta
    if binomial_cdf(errors, n, low) <= delta:
        low = 0.0
    for _ in range(200):
        middle = (low + high) / 2
        if binomial_cdf(errors, n, middle) > delta:
            low = middle
        else:
            high = middle
        if high - low <= 1e-15 * high:
            break
    return high


class CeilingResult(BaseModel):
    """What a category's reviewed turns prove. `floor` is None when they prove none yet."""

    floor: float | None = None
    reviewed: int = 0
    answered: int = 0  # reviewed turns at or above the floor
    answered_share: float = 0.0
    false_answers: int = 0
    false_rate: float | None = None  # observed among the answered turns
    upper_bound: float | None = None  # the (1 - delta) bound on the false-answer rate at the floor
    more_reviews_needed: int | None = 0  # None: at the rate seen so far no number of reviews proves a floor
    alpha: float = 0.05
    delta: float = 0.10


class Ceiling(BaseModel):
    """Finds the lowest confidence floor whose false-answer rate is provably at most `alpha`.

    Candidate floors are 0, 1/grid, 2/grid, ..., 1 (two decimals by default, as thresholds are written).
    """

    alpha: float = Field(0.05, gt=0, lt=1, description="the false-answer rate the floor must keep to")
    delta: float = Field(0.10, gt=0, lt=1, description="the chance the reviews mislead, that the claim allows")
    grid: int = Field(100, ge=1, le=10_000, description="candidate floors are multiples of 1/grid")
    _passes: dict[tuple[int, int], bool] = PrivateAttr(default_factory=dict)
    _needed: dict[float, int] = PrivateAttr(default_factory=dict)  # rate → answered turns that prove it
    _short_of: dict[float, int] = PrivateAttr(default_factory=dict)  # rate → a count known to fall short

    @property
    def min_reviews(self) -> int:
        """The fewest answered turns that can prove anything: that many, with no false answer among them."""
        n = max(1, math.ceil(math.log(self.delta) / math.log1p(-self.alpha)))
        while n > 1 and self.proves(0, n - 1):
            n -= 1
        while not self.proves(0, n):
            n += 1
        return n

    def proves(self, errors: int, answered: int) -> bool:
        """Whether `errors` false answers in `answered` bound the rate by `alpha` (the test at one floor):
        the Clopper-Pearson bound is at most alpha exactly when P(Binomial(answered, alpha) ≤ errors) ≤ delta."""
        if answered <= 0:
            return False
        key = (errors, answered)
        if key not in self._passes:
            self._passes[key] = binomial_cdf(errors, answered, self.alpha) <= self.delta
        return self._passes[key]

    def upper_bound(self, errors: int, answered: int) -> float:
        return clopper_pearson_upper(errors, answered, self.delta)

    def _index(self, confidence: float) -> int:
        """The highest candidate j with j/grid ≤ confidence: the candidates this turn is answered under."""
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"a confidence must lie in [0, 1], got {confidence!r}")
        j = min(self.grid, math.floor(confidence * self.grid))
        if j < self.grid and (j + 1) / self.grid <= confidence:
            j += 1
        while j > 0 and j / self.grid > confidence:
            j -= 1
        return j

    def floor_for(self, scored: Sequence[tuple[float, bool]]) -> CeilingResult:
        """`scored` holds (confidence, right) for each reviewed turn of one category."""
        n = len(scored)
        counts, wrong = [0] * (self.grid + 1), [0] * (self.grid + 1)
        for confidence, right in scored:
            j = self._index(float(confidence))
            counts[j] += 1
            wrong[j] += not right
        # candidates where turns enter the answered set, highest first, with cumulative answered / false counts
        steps: list[tuple[int, int, int]] = []
        answered = errors = 0
        for j in range(self.grid, -1, -1):
            if counts[j]:
                answered, errors = answered + counts[j], errors + wrong[j]
                steps.append((j, answered, errors))
        start = self.min_reviews
        proven: tuple[int, int, int] | None = None
        for step in steps:
            if step[1] < start:
                continue  # too few turns above this floor for any bound to reach alpha
            if not self.proves(step[2], step[1]):
                break
            proven = step
        result = CeilingResult(reviewed=n, alpha=self.alpha, delta=self.delta)
        if proven is None:
            result.more_reviews_needed = self._more_needed(steps, n)
            return result
        j, answered, errors = proven
        result.floor = j / self.grid
        result.answered, result.false_answers = answered, errors
        result.answered_share = answered / n
        result.false_rate = errors / answered
        result.upper_bound = self.upper_bound(errors, answered)
        return result

    def answered_needed(self, rate: float, cap: int = _MAX_REVIEWS) -> int | None:
        """The fewest answered turns that prove the rate is at most alpha when `rate` of them are false
        (errors rounded to the nearest whole), or None when more than `cap` would be needed."""
        if rate >= self.alpha:
            return None
        key = round(rate, 6)
        found = self._needed.get(key)
        if found is None and self._short_of.get(key, 0) < cap:
            found = self._search(key, cap)
        return found if found is not None and found <= cap else None

    def _search(self, rate: float, cap: int) -> int | None:
        def proven(answered: int) -> bool:
            return self.proves(math.floor(rate * answered + 0.5), answered)

        low, high = 0, self.min_reviews
        while not proven(high):
            if high >= cap:
                self._short_of[rate] = max(cap, self._short_of.get(rate, 0))
                return None
            low, high = high, min(2 * high, cap)
        # the rounding of the errors makes this nearly, not strictly, monotone: an estimate, not a bound
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if proven(middle) else (middle, high)
        self._needed[rate] = high
        return high

    def _more_needed(self, steps: Sequence[tuple[int, int, int]], n: int) -> int | None:
        """More reviews, coming in as these did (each candidate's share and false-answer rate unchanged), after
        which some candidate floor would be proven, the candidates above it passing too, as the scan needs."""
        if n == 0:
            return self.min_reviews
        best: int | None = None
        totals: dict[int, int | None] = {}
        tested_from = self.min_reviews

        def total_for(k: int) -> int | None:
            """Total reviews at which candidate k's own test passes."""
            if k not in totals:
                _, answered, errors = steps[k]
                share = answered / n
                cap = _MAX_REVIEWS if best is None else math.ceil((best + n) * share)
                needed = self.answered_needed(errors / answered, cap)
                totals[k] = None if needed is None else math.ceil(needed / share)
            return totals[k]

        for i in range(len(steps)):
            total = total_for(i)
            if total is not None:
                total = max(total, n + 1)  # more reviews, never fewer: the higher candidates then get tested
            moved = total is not None
            while moved and total is not None:
                moved = False
                for k in range(i):  # a higher candidate tested at that size must pass as well
                    if total * steps[k][1] / n < tested_from:
                        continue  # too few turns above it to be tested yet
                    higher = total_for(k)
                    if higher is None:
                        total = None
                        break
                    if higher > total:
                        total, moved = higher, True
            if total is not None:
                more = total - n
                best = more if best is None else min(best, more)
                totals.clear()  # their caps depended on the best so far
        return best

def _review_right(review: dict[str, Any], edited: Edited) -> bool:
    verdict = review.get("verdict")
    if verdict == "approved":
        return True
    if verdict != "edited" or edited == "wrong":
        return False
    similarity = review.get("similarity")  # older journals may lack it: then an edit counts as wrong
    return similarity is not None and float(similarity) >= EDIT_STILL_RIGHT


def _usable(confidence: object) -> TypeGuard[float]:
    """A confidence the bot could have given: a number in [0, 1] (a hand-edited journal may hold anything)."""
    return isinstance(confidence, int | float) and not isinstance(confidence, bool) and 0.0 <= confidence <= 1.0


def reviewed_turns(entries: Iterable[dict[str, Any]], edited: Edited = "substantial"
                   ) -> dict[str, list[tuple[float, bool]]]:
    """(confidence, right) of every turn someone judged, by category.

    - an agent's review of a draft: approved unchanged is right, rejected is wrong; edited is wrong when the
      edit was substantial (`edited="substantial"`: the sent text less than 90 % similar to the draft, or no
      similarity recorded) or always (`edited="wrong"`);
    - a customer's "did this help?" after an automatic answer: right when it did, wrong when it did not; the
      latest word on an answer counts, once.

    The confidence is the one the bot gave the turn: the review's own, or for reviews recorded without it the
    journaled turn whose text the draft was.
    """
    out: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    turns_by_text: dict[tuple[str, str], dict[str, Any]] = {}
    last_answer: dict[str, dict[str, Any]] = {}  # per conversation: what a "did this help?" is about
    confirmed: dict[int, tuple[dict[str, Any], bool]] = {}
    for entry in sorted(entries, key=lambda e: float(e.get("at") or 0.0)):
        kind, cid = entry.get("kind"), str(entry.get("conversation_id", ""))
        if kind == "turn":
            if entry.get("text"):
                turns_by_text[(cid, str(entry["text"]))] = entry
            if entry.get("decision") == "answered" and not entry.get("handled_as") \
                    and _usable(entry.get("confidence")):
                last_answer[cid] = entry
        elif kind == "review":
            confidence = entry.get("confidence")
            if confidence is None and (turn := turns_by_text.get((cid, str(entry.get("original", ""))))):
                confidence = turn.get("confidence")
            if _usable(confidence):
                out[str(entry.get("category") or "general")].append((float(confidence),
                                                                     _review_right(entry, edited)))
        elif kind == "confirmation" and (answer := last_answer.get(cid)) is not None:
            confirmed[id(answer)] = (answer, bool(entry.get("resolved")))
    for answer, helped in confirmed.values():
        out[str(answer.get("category") or "general")].append((float(answer["confidence"]), helped))
    return dict(out)


def proven_floors(results: dict[str, CeilingResult]) -> dict[str, float]:
    """Category → floor, for the categories that proved one."""
    return {name: r.floor for name, r in results.items() if r.floor is not None}


class ProvenFloors(Protocol):
    """Floors the reports proved, kept where every process sees them (a deployment that lets the ceiling apply
    itself raises each category's `min_confidence` to its floor); like phase overrides, cheap to read each turn."""

    async def load(self) -> dict[str, float]:
        """Category → proven floor."""
        ...

    async def replace(self, floors: dict[str, float]) -> None:
        """The floors proven now, in place of the earlier ones (a category that no longer proves one loses it)."""
        ...
