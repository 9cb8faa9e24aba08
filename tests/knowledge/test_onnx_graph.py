"""The encoder's ONNX graph is written from the shipped weights without torch, and gives torch's vectors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from knowledge.embedding import TorchEncoder, model_folder

# a process where torch, sentence-transformers and transformers cannot be imported, as in the container image
WITHOUT_TORCH = """
import sys
for name in ("torch", "sentence_transformers", "transformers"):
    sys.modules[name] = None
from knowledge.embedding import model_folder
from knowledge.onnx_encoder import OnnxEncoder
import numpy as np
vectors = OnnxEncoder(model_folder()).encode(sys.argv[1:])
sys.stdout.write(vectors.tobytes().hex())
"""


def test_the_graph_is_written_without_torch_and_matches_sentence_transformers(tmp_path: Path) -> None:
    texts = ["How do I reset my password?", "", "refunds " * 400, "Zwei-Faktor-Authentifizierung einschalten"]
    done = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *texts], capture_output=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                               "SUPPORTBOT_ENCODER_CACHE": str(tmp_path / "cache")},
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert list((tmp_path / "cache").glob("minilm-*.onnx")), "the graph was not written to the cache folder"
    vectors = np.frombuffer(bytes.fromhex(done.stdout.decode()), dtype=np.float32).reshape(len(texts), -1)
    reference = TorchEncoder(model_folder(), threads=1).encode(texts, batch_size=64)
    assert vectors.shape == (4, 384)
    assert float((vectors * reference).sum(axis=1).min()) > 0.99999
