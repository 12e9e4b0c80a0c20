"""Test-wide settings: one torch thread (the suite's tensors are tiny; on a
2-core machine, thread start-up and barriers cost more than they save)."""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _audio_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """openSMILE features are never cached in the user's home by a test."""
    monkeypatch.setenv("LMAM_AUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "audio-cache"))


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
"""The devices the device-parametrised tests run on: the CPU always, CUDA when present
(the same tests run unchanged on a GPU machine)."""
