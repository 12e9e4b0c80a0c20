"""Machinery shared by LMAM and its self-attention reference.

Both fuse ``M`` modalities the same way (design note, steps 1 and 3-6): every
modality is one-padded to ``xi_m = [x_m; 1]`` of width ``d + 1``; each target
modality ``i`` attends over the utterances of each source modality ``j`` in
``S(i)``; the per-source outputs are aggregated; then
``E_i = LayerNorm(A_i + xi_i)``, ``O_i = ReLU(Linear_i(E_i))``, dropout, and the
modalities are combined. Subclasses supply the attention scores and values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.nn.fusion_module import FusionModule, check_inputs
from lmam.nn.masking import check_context, context_mask, length_groups, unpack_rows
from lmam.nn.options import choice

SOURCES = ("all", "inter", "intra")
RESIDUALS = ("identity", "gelu")
AGGREGATES = ("sum", "mean")
COMBINES = ("sum", "concat")
SCALES = ("dim", "length", "none")
OUTPUTS = ("norm_relu", "norm", "linear", "gelu")
"""The output block ``O_i`` from ``A_i`` and the residual ``r_i``: ``norm_relu``
``ReLU(Linear(LayerNorm(A_i + r_i)))`` (the paper's), ``norm`` without the ReLU,
``linear`` ``Linear(A_i + r_i)``, and ``gelu`` ``Linear(GELU(A_i) + r_i)`` (the
authors' public code)."""


def source_index(num_modalities: int, sources: str) -> Tensor:
    """Source modalities of every target modality.

    Returns:
        ``(M, n)`` long tensor: row ``i`` lists ``S(i)`` in modality order.
    """
    m = num_modalities
    if sources == "all":
        return torch.arange(m).repeat(m, 1)
    if sources == "intra":
        return torch.arange(m).unsqueeze(1)
    if m < 2:
        raise ValueError("sources='inter' needs at least two modalities")
    return torch.tensor([[j for j in range(m) if j != i] for i in range(m)])


def band_chunk(window: int, least: int = 16) -> int:
    """How many query utterances share one product in a window's band attention
    (:meth:`CrossModalAttention._attend_band`): ``2 w + 1``, at least ``least``
    (:attr:`CrossModalAttention.band_least_chunk`)."""
    return max(2 * window + 1, least)


@dataclass
class StepCache:
    """What a causal attention fusion carries between one dialogue's utterances
    (:meth:`CrossModalAttention.step`): the key side of every utterance so far, per
    target modality ``(B, M, t, k)``, and the values ``(B, M, t, d_v)``."""

    keys: list[Tensor] = field(default_factory=list)
    values: Tensor | None = None


class CrossModalAttention(FusionModule):
    """Base of LMAM and the self-attention fusion (see the module docstring).

    Args:
        in_dims: ``{modality: width}``, in the fixed modality order.
        out_dim: output width of each modality's projection ``d_out``. The
            fused width (attribute ``out_dim``) is ``d_out`` for
            ``combine="sum"`` and ``M * d_out`` for ``combine="concat"``.
        dim: common width ``d``. ``None``: the common input width, or the
            largest one when they differ (LMAM: the narrowest). Modalities of
            another width get a ``Linear(d_m, d)`` in front.
        sources: ``"all"`` (intra- and inter-modal), ``"inter"`` or ``"intra"``.
        scale: score scale ``s``: ``"dim"`` (``1/sqrt(d+1)``), ``"length"``
            (``1/sqrt(T_valid)`` per dialogue), ``"none"`` (1) or a float.
        context: ``"full"``, ``"causal"`` or an int window ``w``.
        residual: ``"identity"`` (``A_i + xi_i``) or ``"gelu"`` (``A_i + GELU(xi_i)``).
        aggregate: ``"sum"`` or ``"mean"`` over the sources.
        combine: ``"sum"`` or ``"concat"`` over the modalities.
        dropout: dropout probability after the output projection.
        output: the output block, one of :data:`OUTPUTS` (``"norm_relu"``: the paper's).
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        dim: int | None = None,
        sources: str = "all",
        scale: str | float = "dim",
        context: str | int = "full",
        residual: str = "identity",
        aggregate: str = "sum",
        combine: str = "sum",
        dropout: float = 0.0,
        output: str = "norm_relu",
    ) -> None:
        combine = choice("combine", combine, COMBINES)
        self_output = choice("output", output, OUTPUTS)
        super().__init__(in_dims, out_dim * len(in_dims) if combine == "concat" else out_dim)
        self.sources = choice("sources", sources, SOURCES)
        self.residual = choice("residual", residual, RESIDUALS)
        self.aggregate = choice("aggregate", aggregate, AGGREGATES)
        self.combine = combine
        self.output = self_output
        self.context = check_context(context)
        if isinstance(scale, str):
            choice("scale", scale, SCALES)
        elif not isinstance(scale, (int, float)) or isinstance(scale, bool):
            raise ValueError(f"scale must be one of {SCALES} or a number, got {scale!r}")
        self.scale = scale
        widths = set(self.in_dims.values())
        d = dim if dim is not None else max(widths)
        if d <= 0:
            raise ValueError(f"dim must be a positive int, got {d}")
        self.dim = d
        self.d_out = out_dim
        self.register_buffer(
            "src", source_index(len(self.modalities), self.sources), persistent=False
        )
        self.proj = nn.ModuleDict({m: nn.Linear(w, d) for m, w in self.in_dims.items() if w != d})
        norms = self.output.startswith("norm")
        self.norm = nn.ModuleDict({m: nn.LayerNorm(d + 1) for m in self.modalities if norms})
        self.out = nn.ModuleDict({m: nn.Linear(d + 1, out_dim) for m in self.modalities})
        self.drop = nn.Dropout(dropout)

    src: Tensor  # (M, n) source modalities of every target, a buffer

    # -- hooks for subclasses ------------------------------------------------
    def scores_and_values(self, xi: Tensor, scale: Tensor | float) -> tuple[list[Tensor], Tensor]:
        """The attention's inputs, in one hook so that work both need is done once.

        Args:
            xi: ``(B, M, T, d+1)``.
            scale: from :meth:`score_scale`; applied on the thin query side,
                before the product, rather than on the scores.

        Returns:
            The scaled scores of every target modality ``i``, ``(B, T, n, T)``
            each (query utterance, source, key utterance), and what the weights
            average per source modality, ``(B, M, T, d_v)``.
        """
        raise NotImplementedError

    score_activation: str = "none"  # "tanh" for matching attention

    steps: bool = False
    """Whether the subclass gives :meth:`step_parts`, so that with ``context="causal"``
    it can :meth:`step` one utterance at a time."""

    def step_parts(self, xi: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
        """The attention's inputs row by row, for :meth:`step` (every one of them is a
        function of its own utterance alone).

        Args:
            xi: ``(B, M, t, d+1)``.

        Returns:
            Per target modality the queries ``(B, t, k)`` (unscaled) and the key side
            of every source ``(B, M, t, k)``, and the values ``(B, M, t, d_v)``: the
            scores of :meth:`scores_and_values` are ``s q_i keys_i^T``.
        """
        raise NotImplementedError

    # -- shared steps ------------------------------------------------------------
    def one_pad(self, feats: Mapping[str, Tensor], mask: Tensor) -> tuple[Tensor, Tensor]:
        """Check inputs, project to the common width and one-pad.

        Padded utterances are all zero, the one-padding included (they get no
        attention weight and their outputs are zeroed, so only finiteness
        matters there; zeroing also stops NaN or inf padding from leaking).

        Returns:
            ``xi``: ``(B, M, T, d+1)`` and the boolean mask ``(B, T)``.
        """
        xs, keep = check_inputs(self.in_dims, feats, mask, zero_padding=False)
        b, t = keep.shape
        m = len(xs)
        xi = xs[0].new_empty(b, m, t, self.dim + 1)
        for i, (name, x) in enumerate(zip(self.modalities, xs)):
            if name in self.proj:
                # only the real utterances are projected (padding, garbage or NaN,
                # never reaches the weights; its rows are zeroed below)
                xi[:, i, :, : self.dim][keep] = self.proj[name](x[keep]).to(xi.dtype)
            else:
                xi[:, i, :, : self.dim] = x
        xi[..., self.dim] = 1.0
        # zero the padded rows of every modality, touching only those rows
        padded = (~keep).unsqueeze(1).expand(b, m, t).reshape(-1).nonzero().squeeze(1)
        rows = xi.view(b * m * t, self.dim + 1).index_fill_(0, padded, 0.0)
        return rows.view(b, m, t, self.dim + 1), keep

    def score_scale(self, keep: Tensor) -> Tensor | float:
        """The scale ``s``: a float, or ``(B, 1, 1)`` for ``scale="length"``
        (broadcasting over a ``(B, T, k)`` query side)."""
        if self.scale == "dim":
            return 1.0 / math.sqrt(self.dim + 1)
        if self.scale == "none":
            return 1.0
        if self.scale == "length":
            valid = keep.sum(dim=1).clamp(min=1).to(torch.get_default_dtype())
            return valid.rsqrt().view(-1, 1, 1)
        return float(self.scale)

    def sources_of(self, per_source: Tensor, target: int) -> Tensor:
        """The rows of the sources ``S(i)`` of one target, side by side.

        Args:
            per_source: ``(B, M, T, k)``, indexed by source modality.
            target: the target modality ``i``.

        Returns:
            ``(B, n * T, k)``: for ``sources="all"`` a view of every source.
        """
        b, m, t, k = per_source.shape
        if self.sources == "all":
            return per_source.reshape(b, m * t, k)
        picked = per_source[:, self.src[target]]  # (B, n, T, k)
        return picked.reshape(b, -1, k)

    def shared_key_scores(
        self, queries: list[Tensor], keys: Tensor, scale: Tensor | float
    ) -> list[Tensor]:
        """Scores when keys depend on the source only.

        Args:
            queries: per target modality, ``(B, T, k)``.
            keys: ``(B, M, T, k)`` per source modality.
            scale: from :meth:`score_scale`.

        Returns:
            Per target modality, ``(B, T, n, T)``.
        """
        b, _, t, _ = keys.shape
        return [
            torch.bmm(q * scale, self.sources_of(keys, i).transpose(1, 2)).view(b, t, -1, t)
            for i, q in enumerate(queries)
        ]

    def residual_of(self, xi: Tensor) -> Tensor:
        """The residual branch: ``xi`` or ``GELU(xi)``, ``(B, M, T, d+1)``."""
        return F.gelu(xi) if self.residual == "gelu" else xi

    def score_bias(self, keep: Tensor, dtype: torch.dtype) -> Tensor:
        """Additive mask of the scores: 0 where a key may be attended, half the
        lowest float elsewhere (adding any score to it cannot overflow to
        ``-inf``, even in half precision, so no softmax row can become NaN).

        Returns:
            ``(B, 1, 1, T)`` for ``context="full"``, else ``(B, T, 1, T)``:
            query utterance, source, key utterance.
        """
        b, t = keep.shape
        allowed = keep.view(b, 1, 1, t)
        ctx = context_mask(t, self.context, device=keep.device)
        if ctx is not None:
            allowed = allowed & ctx.view(1, t, 1, t)
        bias = torch.zeros(allowed.shape, dtype=dtype, device=keep.device)
        return bias.masked_fill_(~allowed, torch.finfo(dtype).min / 2)

    def attend(
        self, scores: list[Tensor], values: Tensor, keep: Tensor | None, residual: Tensor
    ) -> list[Tensor]:
        """Masked softmax over key utterances, the aggregated weighted values, plus the residual.

        Args:
            scores: per target modality, ``(B, T_q, n, T)`` (``T_q``: ``T``, or 1 for
                :meth:`step`'s one query row).
            values: ``(B, M, T, d_v)`` per source modality.
            keep: ``(B, T)`` boolean, or ``None``: every key may be attended (a step's
                keys are the real utterances so far).
            residual: ``(B, M, T_q, d+1)``, added in the same matmul (``baddbmm``).

        Returns:
            Per target modality, ``A_i + residual_i``: ``(B, T_q, d+1)``, contiguous.
        """
        b, tq, n, tk = scores[0].shape
        # A real query always has a real key (its own utterance is in every
        # context), so only a padded query row can be fully masked: its softmax
        # is then uniform and finite, and finish() zeroes its output.
        bias = self.score_bias(keep, scores[0].dtype) if keep is not None else 0.0
        weight = 1.0 / n if self.aggregate == "mean" else 1.0
        out = []
        for i, (s, res) in enumerate(zip(scores, residual.unbind(1))):
            alpha = torch.softmax(self.logits(s, bias), dim=-1).view(b, tq, n * tk)
            out.append(torch.baddbmm(res, alpha, self.sources_of(values, i), alpha=weight))
        return out

    def logits(self, scores: Tensor, bias: Tensor | float) -> Tensor:
        """The softmax's input: the activated scores plus the mask's ``bias``.

        ``tanh(s) = 2 sigmoid(2 s) - 1``, and the softmax does not see the ``- 1``: the
        same weights, and torch's CPU sigmoid is several times faster. ``scores`` must be
        the caller's own: they are doubled in place (the product that made them does not
        read them in its backward).
        """
        if self.score_activation == "tanh":
            s = torch.sigmoid(scores.mul_(2.0))
            return torch.add(bias, s, alpha=2.0) if isinstance(bias, Tensor) else 2.0 * s
        return scores + bias

    def project(self, summed: list[Tensor]) -> list[Tensor]:
        """The output block (:data:`OUTPUTS`) and dropout of every modality.

        Args:
            summed: per target modality, ``A_i + residual_i`` (``output="gelu"``:
                ``GELU(A_i) + residual_i``): ``(B, T, d+1)``.

        Returns:
            The per-modality outputs ``O_i``: ``(B, T, d_out)`` each.
        """
        outs = []
        for name, e in zip(self.modalities, summed):
            if name in self.norm:
                e = self.norm[name](e)
            o = self.out[name](e)
            outs.append(self.drop(F.relu(o, inplace=True) if self.output == "norm_relu" else o))
        return outs

    def finish(self, summed: list[Tensor], keep: Tensor) -> Tensor:
        """LayerNorm, output projection, dropout, combine, zero padding.

        Args:
            summed: per target modality, ``A_i + residual_i``: ``(B, T, d+1)``.
            keep: ``(B, T)``.

        Returns:
            ``(B, T, out_dim)``.
        """
        return self.finish_rows([e[keep] for e in summed], keep)  # the real utterances only

    def finish_rows(self, rows: list[Tensor], keep: Tensor) -> Tensor:
        """:meth:`finish` of the real utterances' rows.

        Args:
            rows: per target modality, ``A_i + residual_i`` of the real utterances,
                ``(N, d+1)`` in ``keep``'s row-major order.
            keep: ``(B, T)``, ``N`` of them ``True``.

        Returns:
            ``(B, T, out_dim)``, zero at padding.
        """
        outs = self.project(rows)
        if self.combine == "concat":
            fused = torch.cat(outs, dim=-1)
        else:
            fused = outs[0]
            for o in outs[1:]:
                fused = fused + o
        return unpack_rows(fused, keep)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        return self.finish_rows(*self._attended_real(feats, mask))

    def _attended_real(
        self, feats: Mapping[str, Tensor], mask: Tensor
    ) -> tuple[list[Tensor], Tensor]:
        """Check the inputs and attend: per target modality ``A_i + residual_i`` of the
        real utterances ``(N, d+1)`` in row-major order (:meth:`_attended_rows` on a
        CPU with :attr:`group_lengths`, else over the padded batch), and ``keep`` ``(B, T)``."""
        if self.group_lengths and mask.device.type == "cpu":
            xs, keep = check_inputs(self.in_dims, feats, mask, zero_padding=False)
            return self._attended_rows(xs, keep), keep
        xi, keep = self.one_pad(feats, mask)
        return [e[keep] for e in self._attended_padded(xi, keep)], keep

    group_lengths: bool = True
    """On a CPU, attend within groups of dialogues of similar length
    (:func:`~lmam.nn.masking.length_groups`), each padded only to its own longest, read
    from and written to the real utterances' rows (:meth:`_attended_rows`): the same
    result, with less of the ``T x T`` work spent on padding. ``False``: the batch
    padded to its longest dialogue (always so on an accelerator)."""

    band_windows: bool = True
    """Attend a window ``context=w`` as a band where a chunk's span of keys is at most a
    fifth of them (:meth:`banded`): the same result with ``O(T w)`` scores. ``False``:
    the masked ``T x T`` scores."""

    band_least_chunk: int = 16
    """The fewest query utterances in one chunk of the band (:func:`band_chunk`): 16 was
    the fastest of 8, 16, 32 and 64 at ``w = 2`` for ``T`` = 110 and 440
    (``python -m bench.band``, its chunk table)."""

    def packed_rows(self, xs: list[Tensor], keep: Tensor) -> Tensor:
        """The one-padded features of the real utterances, and one zero row after them.

        Args:
            xs: per modality, ``(B, T, D_m)`` (padding may hold anything, NaN included:
                it is never read).
            keep: ``(B, T)`` boolean, ``N`` of them ``True``.

        Returns:
            ``(N + 1, M, d+1)``: row ``n`` holds the ``n``-th real utterance of
            ``keep``'s row-major order, ``[x_m; 1]`` of every modality; row ``N`` is
            zero, the one-padding included (what a padded position reads).
        """
        padded = []
        for name, x in zip(self.modalities, xs):
            z = x[keep]
            if name in self.proj:
                z = self.proj[name](z)
            padded.append(F.pad(z.to(xs[0].dtype), (0, 1), value=1.0))
        rows = torch.stack(padded, dim=1)
        return F.pad(rows, (0, 0, 0, 0, 0, 1))

    def _attended_rows(self, xs: list[Tensor], keep: Tensor) -> list[Tensor]:
        """The attention over dialogues of similar length (:attr:`group_lengths`), from
        and to the real utterances' rows.

        Every group's padded ``xi`` ``(B_g, M, T_g, d+1)`` is read from
        :meth:`packed_rows` in one gather (its padded positions read the zero row),
        and only its real rows are kept: no batch-sized padded tensor is built,
        forwards or backwards.

        Args:
            xs: per modality, ``(B, T, D_m)``.
            keep: ``(B, T)`` boolean, ``N`` of them ``True``.

        Returns:
            Per target modality ``A_i + residual_i`` (``output="gelu"``:
            ``GELU(A_i) + residual_i``) of the real utterances, ``(N, d+1)`` in
            ``keep``'s row-major order.
        """
        rows = self.packed_rows(xs, keep)
        n, m, w = rows.shape[0] - 1, rows.shape[1], rows.shape[2]
        flat = rows.view((n + 1) * m, w)
        ids = torch.full(keep.shape, n, dtype=torch.long, device=keep.device)
        ids[keep] = torch.arange(n, device=keep.device)
        parts, order = [], []
        for index, t in length_groups(keep):
            ids_g, keep_g = ids[index, :t], keep[index, :t]
            picks = ids_g.unsqueeze(1) * m + torch.arange(m, device=keep.device).view(1, m, 1)
            xi = flat.index_select(0, picks.reshape(-1)).view(len(index), m, t, w)
            parts.append([s[keep_g] for s in self._attended_padded(xi, keep_g)])
            order.append(ids_g[keep_g])
        if len(parts) == 1:
            return parts[0]
        inverse = torch.empty(n, dtype=torch.long, device=keep.device)
        inverse[torch.cat(order)] = torch.arange(n, device=keep.device)
        return [torch.cat([p[i] for p in parts]).index_select(0, inverse) for i in range(m)]

    def _attended_padded(self, xi: Tensor, keep: Tensor) -> list[Tensor]:
        if self.banded(xi.shape[2]):
            return self._summed(xi, lambda residual: self._attend_band(xi, keep, residual))
        scores, values = self.scores_and_values(xi, self.score_scale(keep))
        return self._summed(xi, lambda residual: self.attend(scores, values, keep, residual))

    def banded(self, length: int) -> bool:
        """Whether a window ``context=w`` is attended as a band over ``length`` padded
        utterances (:meth:`_attend_band`) rather than as masked ``T x T`` scores: when
        the subclass gives :meth:`step_parts` and a chunk's span of keys is at most a
        fifth of them (``5 (c + 2 w) <= T``, ``c`` from :func:`band_chunk`). The band
        forced everywhere broke even at about 1.7 to 4.6 spans for ``w`` from 1 to 16
        in two runs (``python -m bench.band``, one CPU thread); a fifth keeps it from
        being slower there."""
        window = self.context
        if isinstance(window, str) or not self.steps or not self.band_windows:
            return False
        return 5 * (band_chunk(window, self.band_least_chunk) + 2 * window) <= length

    def _attend_band(self, xi: Tensor, keep: Tensor, residual: Tensor) -> list[Tensor]:
        """:meth:`attend` for a window ``context=w``, in chunks of queries.

        The ``T`` query rows are cut into chunks of ``c`` (:func:`band_chunk`); the
        queries of a chunk score only the ``c + 2 w`` keys around it, in one batched
        product, and every key outside the query's window (or padded) gets the same
        bias as in :meth:`score_bias`: the weights of :meth:`attend` over
        ``O(T (c + 2 w))`` scores instead of ``T x T``.

        Args:
            xi: ``(B, M, T, d+1)``.
            keep: ``(B, T)`` boolean.
            residual: ``(B, M, T, d+1)``, added in the same matmul.

        Returns:
            As :meth:`attend`: per target modality ``A_i + residual_i``, ``(B, T, d+1)``.
        """
        window = int(self.context)
        b, _, t, _ = xi.shape
        c = band_chunk(window, self.band_least_chunk)
        chunks = -(-t // c)
        span = c + 2 * window
        queries, keys, values = self.step_parts(xi)
        scale = self.score_scale(keep)
        # key j of chunk g's span is utterance g c + j - w: padded, or outside the
        # dialogue, or farther than w from query a of the chunk (|a + w - j| > w) gets
        # half the lowest float, as in score_bias
        keys_kept = F.pad(keep, (window, chunks * c - t + window)).unfold(1, span, c)
        offset = (
            torch.arange(span, device=keep.device)[None, :]
            - torch.arange(c, device=keep.device)[:, None]
        )
        allowed = keys_kept[:, :, None, :] & ((offset >= 0) & (offset <= 2 * window))
        dtype = xi.dtype
        bias = torch.zeros(allowed.shape, dtype=dtype, device=xi.device)
        bias = bias.masked_fill_(~allowed, torch.finfo(dtype).min / 2).unsqueeze(3)
        weight = 1.0 / len(self.src[0]) if self.aggregate == "mean" else 1.0
        spans: dict[tuple[int, int], Tensor] = {}  # a side shared by targets is cut once

        def spans_of(side: Tensor, i: int) -> Tensor:
            key = (id(side), i if self.sources != "all" else -1)
            if key not in spans:
                picked = side if self.sources == "all" else side[:, self.src[i]]
                spans[key] = self._spans(picked, window, c, chunks)
            return spans[key]

        out = []
        for i, q in enumerate(queries):
            n = len(self.src[i])
            k_i = spans_of(keys[i], i)  # (B chunks, n span, k)
            v_i = spans_of(values, i)  # (B chunks, n span, d_v)
            q_i = F.pad(q * scale, (0, 0, 0, chunks * c - t)).reshape(b * chunks, c, -1)
            s = torch.bmm(q_i, k_i.transpose(1, 2)).view(b, chunks, c, n, span)
            alpha = torch.softmax(self.logits(s, bias), dim=-1).view(b * chunks, c, n * span)
            res = F.pad(residual[:, i], (0, 0, 0, chunks * c - t)).reshape(b * chunks, c, -1)
            a = torch.baddbmm(res, alpha, v_i, alpha=weight).view(b, chunks * c, -1)
            out.append(a[:, :t])
        return out

    @staticmethod
    def _spans(per_source: Tensor, window: int, chunk: int, chunks: int) -> Tensor:
        """Every chunk's span of keys (or values) of every source.

        Args:
            per_source: ``(B, n, T, k)``.
            window: ``w``.
            chunk: the query utterances of one chunk, ``c``.
            chunks: how many chunks cover ``T`` (the last one may run past it).

        Returns:
            ``(B * chunks, n * (chunk + 2 window), k)``: chunk ``g``'s rows
            ``g chunk - window`` to ``(g + 1) chunk + window - 1`` of every source
            (zero outside ``0..T-1``).
        """
        b, n, t, k = per_source.shape
        span = chunk + 2 * window
        padded = F.pad(per_source, (0, 0, window, chunks * chunk - t + window))
        spans = padded.unfold(2, span, chunk)  # (B, n, chunks, k, span)
        return spans.permute(0, 2, 1, 4, 3).reshape(b * chunks, n * span, k)

    def _summed(self, xi: Tensor, attend: Callable[[Tensor], list[Tensor]]) -> list[Tensor]:
        """``attend`` (:meth:`attend` or :meth:`_attend_band` over their scores and values,
        given the residual to add) with the residual of the queries' rows ``xi``
        ``(B, M, T_q, d+1)``: ``A_i + residual_i``, or ``GELU(A_i) + residual_i`` for
        ``output="gelu"``."""
        residual = self.residual_of(xi)
        if self.output != "gelu":
            return attend(residual)
        attended = attend(torch.zeros_like(residual))
        return [F.gelu(a) + r for a, r in zip(attended, residual.unbind(1))]

    @property
    def can_step(self) -> bool:
        """Whether :meth:`step` can carry a dialogue: a causal context and a subclass
        that gives :meth:`step_parts`."""
        return self.steps and self.context == "causal"

    def step(self, feats: Mapping[str, Tensor], cache: StepCache) -> Tensor:
        """The fused output of one more utterance of each dialogue, which attends over
        the utterances carried in ``cache`` (and adds itself to it): one query row
        against the ``t`` keys so far, not the ``t x t`` scores of a rerun. Equal to
        ``forward`` over the dialogue so far, at its last utterance (``context="causal"``).

        Args:
            feats: ``{modality: (B, 1, D_m)}``, the new utterance.
            cache: the dialogue's :class:`StepCache`, empty at its first utterance.

        Returns:
            ``(B, out_dim)``.
        """
        if not self.can_step:
            raise ValueError("step needs context='causal' (and a fusion that can step)")
        first = next(iter(feats.values()))
        keep = torch.ones(first.shape[0], 1, dtype=torch.bool, device=first.device)
        xi, _ = self.one_pad(feats, keep)
        queries, keys, values = self.step_parts(xi)
        if cache.values is None:
            cache.keys, cache.values = keys, values
        else:
            cache.keys = [torch.cat([c, k], dim=2) for c, k in zip(cache.keys, keys)]
            cache.values = torch.cat([cache.values, values], dim=2)
        b, _, t, _ = cache.values.shape
        scale = self.score_scale(torch.ones(b, t, dtype=torch.bool, device=first.device))
        scores = [
            torch.bmm(q * scale, self.sources_of(cache.keys[i], i).transpose(1, 2)).view(
                b, 1, -1, t
            )
            for i, q in enumerate(queries)
        ]
        values = cache.values
        summed = self._summed(xi, lambda residual: self.attend(scores, values, None, residual))
        return self.finish(summed, keep)[:, 0]

    def per_modality(self, feats: Mapping[str, Tensor], mask: Tensor) -> dict[str, Tensor]:
        """The per-modality outputs ``O_i`` before they are combined (what a
        backbone that takes the modalities separately receives).

        Args:
            feats: ``{modality: (B, T, D_m)}``.
            mask: ``(B, T)``, nonzero at real utterances.

        Returns:
            ``{modality: (B, T, d_out)}``; zero at padded utterances.
        """
        rows, keep = self._attended_real(feats, mask)
        return {m: unpack_rows(o, keep) for m, o in zip(self.modalities, self.project(rows))}
