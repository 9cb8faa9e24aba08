"""Where a turn's time goes, read from the server's own Prometheus histograms.

`supportbot_turn_stage_seconds{stage=...}` and `supportbot_turn_seconds` are scraped from `/metrics`
before and after a run; the difference of `_sum` over the difference of `_count` is the mean time per
turn in that run. A server without these series gives no figures (None), never a guess.
"""

from __future__ import annotations

import re

import httpx

STAGES = ("categorize", "retrieve", "compose", "gate", "store")
_SAMPLE = re.compile(r'^(supportbot_turn(?:_stage)?_seconds)_(sum|count)(\{[^}]*\})?\s+([0-9.eE+-]+)$')
_STAGE = re.compile(r'stage="([^"]+)"')


def scrape(url: str, headers: dict[str, str] | None = None) -> dict[tuple[str, str], float]:
    """(`turn` or a stage name, `sum` or `count`) -> value, summed over other labels; empty without metrics."""
    try:
        response = httpx.get(f"{url}/metrics", headers=headers or {}, timeout=10)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    totals: dict[tuple[str, str], float] = {}
    for line in response.text.splitlines():
        match = _SAMPLE.match(line.strip())
        if not match:
            continue
        name, kind, labels, value = match.groups()
        stage = _STAGE.search(labels or "")
        key = ("turn" if name == "supportbot_turn_seconds" else stage.group(1) if stage else "", kind)
        totals[key] = totals.get(key, 0.0) + float(value)
    return totals


def mean_ms(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float]) -> dict[str, float | None]:
    """Mean milliseconds per turn for the whole turn and each stage between two scrapes."""
    out: dict[str, float | None] = {}
    for name in ("turn", *STAGES):
        count = after.get((name, "count"), 0.0) - before.get((name, "count"), 0.0)
        total = after.get((name, "sum"), 0.0) - before.get((name, "sum"), 0.0)
        out[name] = round(1000 * total / count, 2) if count > 0 else None
    return out
