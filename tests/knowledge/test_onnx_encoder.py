"""The ONNX Runtime encoder gives the vectors sentence-transformers gives, in the caller's order."""

from __future__ import annotations

import numpy as np

from knowledge.embedding import TorchEncoder, load_encoder, model_folder
from knowledge.onnx_encoder import OnnxEncoder, graph_path


def test_onnx_vectors_match_sentence_transformers() -> None:
    texts = ["How do I reset my password?", "", "refunds " * 400,  # truncated at the model's 256 tokens
             "Zwei-Faktor-Authentifizierung einschalten", "Can I export my data?"]
    encoder = load_encoder()
    assert isinstance(encoder, OnnxEncoder) and graph_path(model_folder()).exists()
    onnx = encoder.encode(texts, batch_size=2)
    reference = TorchEncoder(model_folder(), threads=1).encode(texts, batch_size=64)
    assert onnx.shape == (5, 384)
    np.testing.assert_allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    assert float((onnx * reference).sum(axis=1).min()) > 0.9999
