"""Answer quality on supportqa and supportqa-train against the committed table: did a change make it worse?

    python bench/answers.py [--datasets ../shared/datasets] [--data-dir DIR] [--write] [FILE ...]

Runs `supportbot eval answers` (service.eval_answers.run) on each file (default: questions.jsonl and
dialogues.jsonl of supportqa and of supportqa-train, each over its own `kb/`) and prints, per file and figure,
the committed value (bench/answers_table.json), this run's, the difference, and a flag where the difference
is larger than noise. `--data-dir DIR` keeps each help centre's ingest in DIR/<dataset>, so a later run does not
embed it again; `--write` replaces the table with this run's figures. The exit status is 1 when a quality
figure (all but the timing) got worse beyond noise and the table was not rewritten, so the command can gate a
change.

Noise, per figure, from the rows the committed figure was measured on:
- a rate (answered_rate over answerable turns, false_answer_rate over unanswerable turns,
  first_citation_accuracy over answered turns): 2 binomial standard errors, 2 * sqrt(p * (1 - p) / n), with p
  the committed rate held inside [1/n, 1 - 1/n] so that a rate of 0 or 1 still has a band;
- f1_reference, a mean over answered turns: 2 standard errors of that mean, 2 * sd / sqrt(n), with the
  per-turn standard deviation committed beside it;
- ms_per_turn_p50: half the committed value; a shared machine's load moves timings that much between runs.
The answering path is deterministic, so any difference is real for these rows; the bands say which
differences are large enough to hold on other conversations like them.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.eval_answers import read_rows, run, token_f1  # noqa: E402

TABLE = Path(__file__).with_name("answers_table.json")
DATASETS = ("supportqa", "supportqa-train")
FILES = ("questions.jsonl", "dialogues.jsonl")
# figure -> (rows it is measured over, whether higher is better)
FIGURES: dict[str, tuple[str, bool]] = {
    "answered_rate": ("answerable", True),
    "false_answer_rate": ("unanswerable", False),
    "first_citation_accuracy": ("answered", True),
    "f1_reference": ("answered", True),
    "ms_per_turn_p50": ("rows", False),
}
TIMING_NOISE = 0.5  # of the committed value


def measure(datasets: Path, name: str, data_dir: Path | None) -> dict[str, Any]:
    """One file's figures, with the counts and the spread that its noise bands need."""
    dataset, file = name.split("/")
    questions = datasets / dataset / file
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as scratch:
        predictions_file = Path(scratch) / "predictions.jsonl"
        result = run(datasets / dataset / "kb", questions, data_dir=data_dir / dataset if data_dir else None,
                     predictions_out=predictions_file)
        predictions = [json.loads(line) for line in predictions_file.read_text(encoding="utf-8").splitlines()]
    rows = read_rows(questions)
    f1 = [token_f1(p["text"], r["reference"]) for r, p in zip(rows, predictions)
          if r["answerable"] and p["decision"] == "answered"]
    figures = {key: result[key] for key in ("rows", "answerable", "unanswerable", *FIGURES)}
    figures["answered"] = len(f1)
    figures["f1_reference_sd"] = round(statistics.pstdev(f1), 4) if len(f1) > 1 else None
    figures["seconds"] = result["total_seconds"]
    return figures


def noise(figure: str, before: dict[str, Any]) -> float | None:
    """How far a figure may move before the change counts (see the module's docstring)."""
    value = before.get(figure)
    if value is None:
        return None
    if figure == "ms_per_turn_p50":
        return TIMING_NOISE * value
    n = before.get(FIGURES[figure][0]) or 0
    if n < 1:
        return None
    if figure == "f1_reference":
        sd = before.get("f1_reference_sd")
        return 2 * sd / math.sqrt(n) if sd is not None else None
    p = min(max(value, 1 / n), 1 - 1 / n) if n > 1 else 0.5
    return 2 * math.sqrt(p * (1 - p) / n)


def verdict(figure: str, before: float | None, after: float | None, band: float | None) -> str:
    if before is None or after is None or band is None:
        return "new" if before is None and after is not None else ""
    delta = after - before
    if abs(delta) <= band:
        return ""
    return "better" if (delta > 0) == FIGURES[figure][1] else "WORSE"


def compare(name: str, before: dict[str, Any], after: dict[str, Any]) -> tuple[list[list[str]], bool]:
    lines, worse = [], False
    for figure in FIGURES:
        b, a, band = before.get(figure), after.get(figure), noise(figure, before)
        flag = verdict(figure, b, a, band)
        worse = worse or (flag == "WORSE" and figure != "ms_per_turn_p50")
        delta = f"{a - b:+.4g}" if a is not None and b is not None else ""
        lines.append([name, figure, _shown(b), _shown(a), delta, f"±{band:.3g}" if band is not None else "",
                      flag])
    return lines, worse


def _shown(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def print_table(lines: list[list[str]]) -> None:
    header = ["file", "figure", "before", "after", "delta", "noise", ""]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    for row in [header, *lines]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=[f"{d}/{f}" for d in DATASETS for f in FILES],
                        help="dataset/file.jsonl (default: both files of both datasets)")
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets",
                        help="folder holding supportqa/ and supportqa-train/")
    parser.add_argument("--data-dir", type=Path, help="keep each help centre's ingest in DIR/<dataset>")
    parser.add_argument("--table", type=Path, default=TABLE, help="the committed figures (JSON, per file)")
    parser.add_argument("--write", action="store_true", help="replace the committed figures with this run's")
    args = parser.parse_args(argv)
    path: Path = args.table
    table: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    lines, worse = [], False
    for name in args.files:
        after = measure(args.datasets, name, args.data_dir)
        print(f"{name}: {after['rows']} graded turns in {after['seconds']} s", file=sys.stderr)
        rows, got_worse = compare(name, table.get(name, {}), after)
        lines += rows
        worse = worse or got_worse
        table[name] = after
    print_table(lines)
    if args.write:
        path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {path}")
        return 0
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
