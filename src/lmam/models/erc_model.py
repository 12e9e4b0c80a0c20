"""One composition of a fusion and a backbone, for every backbone.

A backbone is a *contextual encoder* of one of two kinds:

- single-stream (:class:`Encoder`, e.g. bc-LSTM, TextCNN, DialogueRNN):
  ``(B, T, D_in)`` utterance features of a conversation to ``(B, T, H)``;
- multimodal by design (:class:`MultimodalEncoder`, ``multimodal = True``,
  e.g. MM-DFN, M2FNet, EmoCaps): it takes the modalities separately,
  ``{m: (B, T, D_m)}``, fuses them inside (its own, baseline fusion) and returns
  named contextual streams ``{k: (B, T, H_k)}`` (per modality, or one final one).

The model puts any registered fusion at one of five embedding points (the
paper's Fig. 4 (a)-(c), plus the two placements of the authors' public code):

============== ======================================== ==============================================
embed          single-stream backbone                    multimodal backbone
============== ======================================== ==============================================
early          ``enc(F(x))``                             ``enc({m: O_m})``
early_residual ``enc(cat(x) + W F(x))``                  ``enc({m: x_m + W_m O_m})``
late           ``F({m: enc_m(x_m)})`` (one enc per m)    ``F(enc(x))`` (fuses the backbone's streams)
parallel       ``enc(cat(x)) + W F(x)``                  ``cat(enc(x)) + W F(x)``
late_text      ``F({text: enc(x_text), m: x_m})``         (not defined: raises)
============== ======================================== ==============================================

``F`` is the fusion, ``O_m`` its per-modality output (LMAM's ``O_i``; a fusion
without per-modality outputs gives every modality its fused output), ``W``
and ``W_m`` linear maps, and a linear classifier (or regressor) sits on top.
Under ``early``/``early_residual``/``parallel`` a multimodal backbone's
streams are concatenated before the classifier.

Which placement reproduces the authors' public scripts (design note, "Known
departures of the authors' public code"): their DialogueRNN runs the fusion in
a parallel branch on the inputs and adds its projection to the backbone's
output, which is ``parallel``; their LSTM passes only the text through the
recurrent layer and fuses it with the raw audio and visual features before
the classifier, which is ``late_text`` (``late`` with the other modalities'
encoders left out; it needs a modality named ``text``). ``early`` and
``early_residual`` are the paper's Fig. 4 (a) and (b), ``late`` is (c). The
placement is all that is reproduced: with ``fusion="lmam_authors_code"`` the
fusion step is theirs too.

No fusion: ``fusion="none"`` (only with ``embed="early"``) builds no fusion
module; a multimodal backbone gets the raw modalities, ``cat(enc(x))`` (its
own fusion only: its baseline row), a single-stream backbone their
concatenation, ``enc(cat(x))`` (the same as ``fusion="concat"`` without its
module); there are no auxiliary losses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from lmam.fusion.registry import create_fusion, fusion_factory
from lmam.nn.cross_attention import CrossModalAttention
from lmam.nn.fusion_module import FusionModule, check_inputs
from lmam.nn.masking import unpack_rows

EMBEDS = ("early", "early_residual", "late", "parallel", "late_text")
NO_FUSION = "none"


class Encoder(Protocol):
    """A single-stream backbone: attribute ``out_dim`` and
    ``forward(x: (B, T, D_in), mask: (B, T), speakers: (B, T)) -> (B, T, out_dim)``."""

    out_dim: int

    def __call__(self, x: Tensor, mask: Tensor, speakers: Tensor) -> Tensor: ...


class MultimodalEncoder(Protocol):
    """A multimodal-by-design backbone: attributes ``multimodal = True`` and
    ``out_dims: {k: H_k}``, and ``forward(feats: {m: (B, T, D_m)}, mask: (B, T),
    speakers: (B, T)) -> {k: (B, T, H_k)}`` (zeros at padding)."""

    multimodal: bool
    out_dims: dict[str, int]

    def __call__(
        self, feats: Mapping[str, Tensor], mask: Tensor, speakers: Tensor
    ) -> dict[str, Tensor]: ...


EncoderFactory = Callable[[int], nn.Module]
MultimodalEncoderFactory = Callable[[dict[str, int]], nn.Module]


def encoder_width(encoder: nn.Module) -> int:
    """The ``out_dim`` a single-stream encoder declares (a plain int attribute)."""
    width = encoder.__dict__.get("out_dim")
    if not isinstance(width, int):
        raise TypeError(f"{type(encoder).__name__} must set an int attribute out_dim")
    return width


def encoder_widths(encoder: nn.Module) -> dict[str, int]:
    """The ``out_dims`` a multimodal encoder declares (a dict of ints)."""
    widths = encoder.__dict__.get("out_dims")
    if not isinstance(widths, dict) or not widths:
        raise TypeError(f"{type(encoder).__name__} must set a dict attribute out_dims")
    return dict(widths)


def default_fusion_dim(name: str, dims: Mapping[str, int], otherwise: int) -> int:
    """The fusion's preferred output width for inputs ``dims`` (its class's
    ``default_out_dim(dims)``, if it has one), else ``otherwise``."""
    hook = getattr(fusion_factory(name), "default_out_dim", None)
    return int(hook(dict(dims))) if callable(hook) else otherwise


def reads_ids(encoder: nn.Module) -> bool:
    """Whether ``encoder`` reads its input as token ids (it sets ``reads_ids = True``,
    e.g. TextCNN over words), so that nothing may be fused before it."""
    return encoder.__dict__.get("reads_ids") is True


def real_rows(layer: nn.Module, x: Tensor, keep: Tensor) -> Tensor:
    """``layer`` applied to the real utterances of ``x`` only, zeros at padding (the
    backbones never read padded positions, so this is their result at less cost).

    Args:
        x: ``(B, T, D)``; keep: ``(B, T)`` boolean. Returns: ``(B, T, D_out)``.
    """
    return unpack_rows(layer(x[keep]), keep)


class ERCModel(nn.Module):
    """A fusion plugged into a backbone at an embedding point, plus a classifier.

    Args:
        encoder_factory: ``in_dim -> encoder`` (an :class:`Encoder`), or with
            ``multimodal=True``, ``{m: D_m} -> encoder`` (a :class:`MultimodalEncoder`).
        in_dims: ``{modality: width}`` in the fixed modality order.
        num_classes: number of classes (or regression outputs).
        fusion: a registered fusion name, or ``"none"`` (no fusion module; ``embed="early"`` only).
        embed: ``"early"``, ``"early_residual"``, ``"late"``, ``"parallel"`` or
            ``"late_text"`` (single-stream backbones only).
        fusion_dim: the fusion's output width; ``None``: the fusion's own
            default width for its inputs if it declares one (LMAM: the
            narrowest input), else the summed input width for
            ``early``/``early_residual``/``parallel`` and the encoder width for ``late``.
        fusion_options: options of the fusion (e.g. ``{"rank": 45}``).
        dropout: dropout before the classifier.
        multimodal: the backbone takes the modalities separately.

    ``forward(feats: {m: (B, T, D_m)}, mask: (B, T), speakers: (B, T)) -> (B, T, num_classes)``.
    """

    def __init__(
        self,
        encoder_factory: Callable[..., nn.Module],
        *,
        in_dims: Mapping[str, int],
        num_classes: int,
        fusion: str = "concat",
        embed: str = "early",
        fusion_dim: int | None = None,
        fusion_options: Mapping[str, object] | None = None,
        dropout: float = 0.0,
        multimodal: bool = False,
    ) -> None:
        super().__init__()
        if embed not in EMBEDS:
            raise ValueError(f"embed must be one of {EMBEDS}, got {embed!r}")
        if num_classes <= 0:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        if not in_dims:
            raise ValueError("in_dims must name at least one modality")
        self.in_dims = dict(in_dims)
        self.modalities = tuple(in_dims)
        self.embed = embed
        self.num_classes = num_classes
        self.fusion_name = fusion
        self.multimodal = multimodal
        if fusion == NO_FUSION and embed != "early":
            raise ValueError(
                f"fusion={NO_FUSION!r} works only with embed='early' (the backbone on "
                f"the raw modalities), got embed={embed!r}"
            )
        if embed == "late_text":
            if multimodal:
                raise ValueError(
                    "embed 'late_text' encodes only the text with a single-stream backbone; "
                    f"a multimodal backbone takes one of {EMBEDS[:-1]}"
                )
            if "text" not in self.in_dims:
                raise ValueError(
                    f"embed 'late_text' needs a modality named 'text', got {self.modalities}"
                )
        options = dict(fusion_options or {})
        total = sum(self.in_dims.values())
        self.encoders = nn.ModuleDict()
        # early_residual: W F(x) (single stream) or W_m O_m (per modality);
        # parallel: W F(x) on the encoder output
        self.residual_proj: nn.Module | None = None
        self.residual_projs = nn.ModuleDict()
        self.parallel_proj: nn.Module | None = None
        self.fusion: FusionModule | None = None
        if fusion == NO_FUSION:
            self.encoders["all"] = encoder_factory(dict(self.in_dims) if multimodal else total)
            if multimodal:
                head_in = sum(encoder_widths(self.encoders["all"]).values())
            else:
                head_in = encoder_width(self.encoders["all"])
        elif embed in ("late", "late_text"):
            if multimodal:
                self.encoders["all"] = encoder_factory(dict(self.in_dims))
                enc_dims = encoder_widths(self.encoders["all"])
            else:
                encoded = self.modalities if embed == "late" else ("text",)
                for m in encoded:
                    self.encoders[m] = encoder_factory(self.in_dims[m])
                enc_dims = {
                    m: encoder_width(self.encoders[m]) if m in encoded else self.in_dims[m]
                    for m in self.modalities
                }
            out = fusion_dim or default_fusion_dim(fusion, enc_dims, next(iter(enc_dims.values())))
            self.fusion = self._fusion(fusion, enc_dims, out, options, num_classes)
            head_in = self.fusion.out_dim
        else:
            out = fusion_dim or default_fusion_dim(fusion, self.in_dims, total)
            self.fusion = self._fusion(fusion, self.in_dims, out, options, num_classes)
            per_stream = self._stream_width()
            if multimodal:
                if embed == "early":
                    enc_in = dict.fromkeys(self.modalities, per_stream)
                else:
                    enc_in = dict(self.in_dims)
                    if embed == "early_residual":
                        for m, width in self.in_dims.items():
                            self.residual_projs[m] = nn.Linear(per_stream, width)
                self.encoders["all"] = encoder_factory(enc_in)
                head_in = sum(encoder_widths(self.encoders["all"]).values())
            else:
                enc_width = total if embed != "early" else self.fusion.out_dim
                if embed == "early_residual":
                    self.residual_proj = nn.Linear(self.fusion.out_dim, total)
                self.encoders["all"] = encoder_factory(enc_width)
                head_in = encoder_width(self.encoders["all"])
            if embed == "parallel":
                self.parallel_proj = nn.Linear(self.fusion.out_dim, head_in)
        identity = fusion == NO_FUSION or (fusion == "concat" and fusion_dim is None)
        if embed != "late" and not identity and any(map(reads_ids, self.encoders.values())):
            raise ValueError(
                f"fusion {fusion!r} at embed {embed!r}: the backbone reads token ids, there "
                "is nothing to fuse before it; put the fusion after it (embed='late'), or "
                "use fusion 'none' or 'concat' without fusion_dim"
            )
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(head_in, num_classes)

    @staticmethod
    def _fusion(
        name: str, dims: dict[str, int], out: int, options: dict[str, object], num_classes: int
    ) -> FusionModule:
        if getattr(fusion_factory(name), "wants_num_classes", False):
            options.setdefault("num_classes", num_classes)
        return create_fusion(name, in_dims=dims, out_dim=out, **options)

    def _stream_width(self) -> int:
        """Width of each modality's fusion-enhanced stream for a multimodal backbone."""
        assert self.fusion is not None
        if callable(getattr(self.fusion, "per_modality", None)):
            return int(getattr(self.fusion, "d_out", self.fusion.out_dim))
        return self.fusion.out_dim

    def _streams(self, feats: Mapping[str, Tensor], keep: Tensor) -> dict[str, Tensor]:
        """One fusion-enhanced stream per modality, ``{m: (B, T, d)}``: the fusion's
        per-modality outputs if it has them, else its fused output for every modality."""
        assert self.fusion is not None
        per_modality = getattr(self.fusion, "per_modality", None)
        if callable(per_modality):
            out: dict[str, Tensor] = per_modality(feats, keep)
            return out
        fused = self.fusion(feats, keep)
        return dict.fromkeys(self.modalities, fused)

    def features(self, feats: Mapping[str, Tensor], mask: Tensor, speakers: Tensor) -> Tensor:
        """The features the classifier reads.

        Args:
            feats: ``{modality: (B, T, D_m)}``.
            mask: ``(B, T)``, true at real utterances.
            speakers: ``(B, T)`` speaker ids.

        Returns:
            ``(B, T, H)``.
        """
        xs, keep = check_inputs(self.in_dims, feats, mask)
        clean = dict(zip(self.modalities, xs))
        enc = self.encoders
        if self.fusion is None:
            if self.multimodal:
                return torch.cat(list(enc["all"](clean, keep, speakers).values()), dim=-1)
            return enc["all"](torch.cat(xs, dim=-1), keep, speakers)
        if self.embed in ("late", "late_text"):
            if self.multimodal:
                return self.fusion(enc["all"](clean, keep, speakers), keep)
            encoded = {
                m: enc[m](clean[m], keep, speakers) if m in enc else clean[m]
                for m in self.modalities
            }
            return self.fusion(encoded, keep)
        if self.multimodal:
            if self.embed == "early":
                streams = self._streams(clean, keep)
            elif self.embed == "early_residual":
                o = self._streams(clean, keep)
                streams = {
                    m: clean[m] + real_rows(self.residual_projs[m], o[m], keep)
                    for m in self.modalities
                }
            else:
                streams = clean
            h = torch.cat(list(enc["all"](streams, keep, speakers).values()), dim=-1)
        else:
            if self.embed == "early":
                x = self.fusion(clean, keep)
            else:
                x = torch.cat(xs, dim=-1)
                if self.residual_proj is not None:
                    x = x + real_rows(self.residual_proj, self.fusion(clean, keep), keep)
            h = enc["all"](x, keep, speakers)
        if self.parallel_proj is not None:
            h = h + real_rows(self.parallel_proj, self.fusion(clean, keep), keep)
        return h

    @property
    def can_step(self) -> bool:
        """Whether :meth:`step` can carry a dialogue's state: a single-stream backbone
        that can step (a causal DialogueRNN, a context-free TextCNN), the fusion (if any)
        at ``early``, ``early_residual`` or ``parallel``."""
        enc = self.encoders["all"] if set(self.encoders) == {"all"} else None
        return (
            not self.multimodal
            and enc is not None
            and bool(getattr(enc, "can_step", False))
            and (self.fusion is None or self.embed in ("early", "early_residual", "parallel"))
        )

    def step(self, feats: Mapping[str, Tensor], speaker: int, state: Any) -> Tensor:
        """Logits of the last utterance of one dialogue so far, carrying the backbone's
        ``state`` (its :class:`~lmam.models.dialoguernn.StepState`) from the earlier
        utterances: the backbone runs one step, not over the whole dialogue. A causal
        attention fusion (LMAM or self-attention with ``context="causal"``) steps too,
        from its cache in ``state``; any other fusion reads the dialogue so far. For a
        causal model, equal to ``forward(feats, mask)[0, -1]`` (see :attr:`can_step`).

        Args:
            feats: ``{modality: (1, t, D_m)}``, the dialogue so far.
            speaker: the last utterance's speaker id.

        Returns:
            ``(1, num_classes)``.
        """
        if not self.can_step:
            raise ValueError("step needs a causal single-stream backbone (see can_step)")
        t = next(iter(feats.values())).shape[1]
        mask = torch.ones(1, t, dtype=torch.bool, device=next(iter(feats.values())).device)
        xs, keep = check_inputs(self.in_dims, feats, mask)
        clean = dict(zip(self.modalities, xs))
        x = torch.cat([v[:, -1] for v in xs], dim=-1)
        fused = None
        if isinstance(self.fusion, CrossModalAttention) and self.fusion.can_step:
            last = {m: v[:, -1:] for m, v in clean.items()}
            fused = self.fusion.step(last, state.fusion)
        elif self.fusion is not None:
            fused = self.fusion(clean, keep)[:, -1]
        if fused is not None and self.embed == "early":
            x = fused
        elif fused is not None and self.residual_proj is not None:
            x = x + self.residual_proj(fused)
        encoder: Any = self.encoders["all"]
        h = encoder.step(x, speaker, state)
        if fused is not None and self.parallel_proj is not None:
            h = h + self.parallel_proj(fused)
        return self.classifier(self.drop(h))

    def forward(
        self, feats: Mapping[str, Tensor], mask: Tensor, speakers: Tensor | None = None
    ) -> Tensor:
        """Logits of every utterance of a batch of dialogues.

        Example::

            model = lmam.create_model("bclstm", in_dims={"text": 100, "audio": 73},
                                      num_classes=6, fusion="lmam", embed="early_residual")
            feats = {"text": torch.randn(2, 5, 100), "audio": torch.randn(2, 5, 73)}
            mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
            speakers = torch.tensor([[0, 1, 0, 1, 0], [0, 0, 1, 0, 0]])
            logits = model(feats, mask, speakers)          # (2, 5, 6)

        Args:
            feats: ``{modality: (B, T, D_m)}``, one entry per modality of ``in_dims``.
            mask: ``(B, T)`` bool, true at real utterances (padding after them).
            speakers: ``(B, T)`` integer speaker ids within each dialogue (``None``:
                one speaker throughout); the speaker-aware backbones (DialogueRNN,
                DialogueGCN, MM-DFN, ...) read them.

        Returns:
            ``(B, T, num_classes)`` logits (zeros at padding).

        Raises:
            ValueError: a missing modality, a mask that is not bool, shapes that
                disagree, or a batch of no utterance.
        """
        keep = self._checked_mask(feats, mask)
        if speakers is None:
            speakers = torch.zeros(keep.shape, dtype=torch.long, device=keep.device)
        elif tuple(speakers.shape) != tuple(keep.shape):
            raise ValueError(
                f"speakers must be (B, T) = {tuple(keep.shape)} like the mask, "
                f"got {tuple(speakers.shape)}"
            )
        logits = self.classifier(self.drop(self.features(feats, keep, speakers)))
        return logits.masked_fill(~keep.unsqueeze(-1), 0.0)

    def _checked_mask(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """``mask`` after checking it and ``feats`` against each other (see :meth:`forward`)."""
        if mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be a bool tensor (B, T), true at real utterances; got {mask.dtype} "
                "(use mask.bool() for a 0/1 mask)"
            )
        if mask.dim() != 2:
            raise ValueError(f"mask must be (B, T), got shape {tuple(mask.shape)}")
        if mask.numel() == 0:
            raise ValueError(
                f"a batch of no utterance (mask of shape {tuple(mask.shape)}): give at least "
                "one dialogue of at least one utterance"
            )
        missing = [m for m in self.in_dims if m not in feats]
        if missing:
            raise ValueError(
                f"missing modality {missing[0]!r}: the model takes {list(self.in_dims)}"
            )
        for m in self.in_dims:
            x = feats[m]
            if x.dim() != 3 or tuple(x.shape[:2]) != tuple(mask.shape):
                raise ValueError(
                    f"feats[{m!r}] must be (B, T, D) = {(*mask.shape, self.in_dims[m])} "
                    f"to match the mask, got {tuple(x.shape)}"
                )
        return mask

    def aux_losses(self, labels: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """The auxiliary losses of the last forward pass: the fusion's (none
        without a fusion), and those of an encoder with an ``aux_losses``
        method (e.g. a fusion inside the backbone, EmoCaps' slot)."""
        losses = {} if self.fusion is None else dict(self.fusion.aux_losses(labels, mask))
        for enc in self.encoders.values():
            hook = getattr(enc, "aux_losses", None)
            if callable(hook):
                losses.update(hook(labels, mask))
        return losses
