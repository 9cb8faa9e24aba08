"""`supportbot eval transcripts` replays recorded conversations against the deployment's knowledge base."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from knowledge.chroma import ChromaKnowledgeBase
from knowledge.ingest import ingest_folder

SAMPLE_DOCS = Path(__file__).resolve().parents[2] / "service" / "sample_docs"


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPPORTBOT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("SUPPORTBOT_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "service.cli", "eval", "transcripts", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_replay_counts_decisions_and_closeness(tmp_path: Path) -> None:
    ingest_folder(ChromaKnowledgeBase.persistent(str(tmp_path / "chroma")), SAMPLE_DOCS, progress=False)
    transcripts = tmp_path / "transcripts.jsonl"
    transcripts.write_text("\n".join(json.dumps(t) for t in [
        {"id": "a", "turns": [{"customer": "How do I reset my password?",
                               "approved": "You can reset it yourself from the sign-in page."}]},
        {"id": "b", "turns": [{"customer": "Can you recommend a lasagna recipe?", "approved": "Sorry, no."},
                              {"customer": "How long do refunds take?",
                               "approved": "Refunds take 5 to 10 business days to appear."}]},
    ]))
    result = run_cli("--data", str(transcripts), "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["turns"] == 3 and report["answered"] == 2 and report["escalated"] == 1
    assert 0 < report["answered_similarity_median"] <= 1


def test_malformed_transcripts_exit_2_with_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "turns": [{"customer": "hi", "approved": "hello"}]}\n{"id": "b", "turns": "x"}\n')
    result = run_cli("--data", str(bad), data_dir=tmp_path)
    assert result.returncode == 2 and "bad.jsonl:2" in result.stderr
