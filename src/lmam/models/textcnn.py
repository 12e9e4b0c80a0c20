"""TextCNN (Kim, EMNLP 2014) as the ERC literature uses it as a baseline.

Kim's CNN convolves one sentence's word vectors with filters of several widths
and max-pools each filter over the sentence: a context-free classifier of one
utterance. As an ERC baseline it keeps that property: DialogueRNN's paper
(Majumder et al., AAAI 2019) describes its CNN baseline as its own textual
feature extractor, which "does not use contextual information from the
surrounding utterances", and MMGCN (Hu et al., ACL 2021) lists TextCNN among
the context-free baselines on IEMOCAP and MELD. The LMAM paper feeds the
extracted multimodal utterance features "into 1D-CNN". With utterance feature
vectors (no words) as the input, a reading is needed, and it stays context-free
(no information crosses utterances). Where the words exist, Kim's own reading:

- ``over="words"``: Kim's CNN over the utterance's words. The input is the
  modality ``words`` (:mod:`lmam.features.words`: WordPiece ids, ``D_in`` of
  them, 0 at padding), looked up in a word-vector table that the training code
  fills from all-MiniLM-L6-v2's input embeddings (Kim's are word2vec's; those
  are not available offline here). The table is static by default, as in
  Kim's CNN-static (``tune_words=True``: CNN-non-static; on IEMOCAP-text's
  validation split, seed 0, 30 epochs, unscaled vectors: 47.4 weighted F1
  against 47.9 static); a static table is not saved with the weights, it is
  filled again when a run is loaded.

Where only utterance vectors exist, a reading of them:

- ``over="projected"`` (default): a linear map turns each utterance's vector into
  a sequence of ``length`` positions with ``channels`` channels each, which
  Kim's convolutions (widths 3/4/5) and max-pooling read as they read a
  sentence. Chosen on validation: on IEMOCAP-text (MiniLM features, 30 epochs,
  seed 0, the epoch kept by validation) it reached 49.64 validation weighted F1
  against 12.24 for ``"features"``, which did not fit the training set
  (training loss 1.75, chance 1.76; training weighted F1 0.10), nor CMU-MOSI's
  (loss 0.70 against the prior's 0.69 after 8 epochs).
- ``over="features"``: each utterance's own feature vector as one input
  channel of length ``D_in`` (the dimensions of a dense embedding are not a
  sequence, which is why it does not fit); lmam's default before.
- ``over="utterances"``: along the conversation (``D_in`` input channels,
  filters spanning ``k`` neighbouring utterances, zero beyond the dialogue's
  ends), max-pooled over a window of the same width: contextual, not the
  context-free baseline.

Departures: except over words, the input is an utterance feature vector, not word
vectors; with ``norm=True`` (default; never over words) each input feature is first standardised over the
batch's real utterances (``BatchNorm1d``): the ERC feature sets mix scales (on
CMU-MOSI the audio features reach 356 against the text's 1.5); the pooled
features go through a dense layer (ReLU) to ``out_dim``, like our other
backbones, instead of straight to the softmax. Dropout 0.5 on the pooled
features, and nowhere else, is Kim's (lmam's TextCNN also dropped after the
dense layer and before the classifier before).
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.models.registry import register_backbone
from lmam.nn.masking import unpack_rows
from lmam.nn.options import choice, positive_int
from lmam.space import Int

OVER = ("projected", "features", "utterances", "words")


def max_over_positions(x: Tensor, conv: nn.Conv1d, chunk: int = 1 << 18) -> Tensor:
    """``conv(x[:, None]).amax(-1)`` for a one-channel ``conv``, without keeping the
    ``(N, F, L)`` convolution output for the backward pass.

    The winning window of every filter is found without gradient (in chunks of
    about ``chunk`` output values), then only those windows are recomputed with
    gradient: the same value, and the same gradient as max-pooling's.

    Args:
        x: ``(N, D)`` rows, each convolved as one channel of length ``D``.
        conv: ``Conv1d(1, F, k)``.

    Returns:
        ``(N, F)``.
    """
    k = conv.kernel_size[0]
    weight = conv.weight[:, 0, :]  # (F, k)
    windows = x.unfold(1, k, 1)  # (N, L, k), a view
    n, length, _ = windows.shape
    step = max(1, chunk // max(1, length * weight.shape[0]))
    with torch.no_grad():
        best = torch.cat(
            [(windows[i : i + step] @ weight.T).argmax(1) for i in range(0, n, step)]
        )  # (N, F)
    picked = windows.gather(1, best.unsqueeze(-1).expand(-1, -1, k))  # (N, F, k)
    out = (picked * weight).sum(-1)
    return out + conv.bias if conv.bias is not None else out


class TextCNNEncoder(nn.Module):
    """Convolutions of several widths with max-pooling, then a dense layer.

    Args:
        in_dim: utterance feature width ``D_in``.
        filters: filters per width.
        widths: the kernel widths.
        dense: output width (``out_dim``).
        over: ``"projected"`` (each utterance's vector mapped to a sequence of
            ``length`` positions of ``channels`` each, context-free), ``"features"``
            (each utterance's vector as one channel, context-free), ``"utterances"``
            (along the conversation) or ``"words"`` (Kim's CNN over the word ids
            ``x``; ``D_in`` words per utterance).
        length, channels: the sequence ``over="projected"`` convolves.
        norm: standardise every input feature over the real utterances (``BatchNorm1d``;
            not over words).
        vocab, word_dim: the word-vector table's shape (``over="words"``; filled by
            :meth:`load_word_vectors`).
        tune_words: train the word vectors too (Kim's CNN-non-static).
        dropout: dropout on the pooled features (Kim's one dropout).

    ``forward(x: (B, T, D_in), mask: (B, T), speakers: (B, T)) -> (B, T, dense)``.
    """

    def __init__(
        self,
        in_dim: int,
        filters: int = 100,
        widths: tuple[int, ...] = (3, 4, 5),
        dense: int = 100,
        over: str = "projected",
        dropout: float = 0.5,
        norm: bool = True,
        length: int = 16,
        channels: int = 32,
        vocab: int = 30522,
        word_dim: int = 384,
        tune_words: bool = False,
    ) -> None:
        super().__init__()
        self.over = choice("over", over, OVER)
        self.reads_ids = self.over == "words"  # no fusion before it (ERCModel refuses one)
        self.norm = nn.BatchNorm1d(in_dim) if norm and over != "words" else None
        if not widths:
            raise ValueError("widths must name at least one kernel width")
        self.widths = tuple(positive_int("widths", k) for k in widths)
        if over in ("features", "words") and max(self.widths) > in_dim:
            raise ValueError(f"kernel width {max(self.widths)} exceeds the feature width {in_dim}")
        self.length = positive_int("length", length)
        if over == "projected" and max(self.widths) > self.length:
            raise ValueError(f"kernel width {max(self.widths)} exceeds the length {length}")
        self.project = (
            nn.Linear(in_dim, self.length * positive_int("channels", channels))
            if over == "projected"
            else None
        )
        shape = (positive_int("vocab", vocab), positive_int("word_dim", word_dim))
        if over == "words" and tune_words:
            self.word_table = nn.Parameter(torch.zeros(shape))
        elif over == "words":  # static: not a parameter, not saved (filled when built)
            self.register_buffer("word_table", torch.zeros(shape), persistent=False)
        self.filled = False  # the word vectors: load_word_vectors, or trained ones loaded
        inputs = {"features": 1, "utterances": in_dim, "projected": channels, "words": word_dim}
        self.convs = nn.ModuleList(nn.Conv1d(inputs[over], filters, k) for k in self.widths)
        self.dense = nn.Linear(filters * len(self.widths), dense)
        self.drop = nn.Dropout(dropout)
        self.out_dim = dense

    def _normalise(self, x: Tensor) -> Tensor:
        """Args: x: ``(N, D_in)`` real utterances. A batch of one utterance uses the
        running statistics (batch statistics need two)."""
        norm = cast(nn.BatchNorm1d, self.norm)
        if self.training and x.shape[0] > 1:
            return norm(x)
        return F.batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias)

    def _per_utterance(self, x: Tensor) -> Tensor:
        """Args: x: ``(N, D_in)``. Returns: ``(N, filters * len(widths))``."""
        convs = cast(list[nn.Conv1d], list(self.convs))
        return torch.cat([F.relu(max_over_positions(x, conv)) for conv in convs], dim=-1)

    def _projected(self, x: Tensor) -> Tensor:
        """Args: x: ``(N, D_in)``. Returns: ``(N, filters * len(widths))``: Kim's
        convolutions and max-pooling over the learned sequence ``(N, channels, length)``."""
        project = cast(nn.Linear, self.project)
        return self._over_time(project(x).view(x.shape[0], -1, self.length))

    def _over_time(self, seq: Tensor) -> Tensor:
        """Kim's convolutions, ReLU and max-pooling over time. Args: seq: ``(N, C, L)``.
        Returns: ``(N, filters * len(widths))``."""
        return torch.cat([F.relu(conv(seq)).amax(-1) for conv in self.convs], dim=-1)

    def _words(self, ids: Tensor, chunk: int = 256) -> Tensor:
        """Args: ids: ``(N, D_in)`` word ids (exact integers, 0 at padding). Returns:
        ``(N, filters * len(widths))``: Kim's convolutions and max-pooling over time.

        The same as convolving all ``D_in`` positions of every utterance, at a fraction of
        the cost: utterances are taken in order of length, ``chunk`` at a time, each chunk
        cut to its longest utterance plus the widest filter (so every window that reads a
        word is there, and an all-padding window too wherever the full length has one).
        The chunks depend on the data: ``torch.compile`` runs this part uncompiled."""
        if not self.filled:
            raise RuntimeError(
                "the word vectors are not loaded: call load_word_vectors(table) first "
                "(lmam's training and loading code fill them from all-MiniLM-L6-v2)"
            )
        width = ids.shape[1]
        positions = torch.arange(1, width + 1, device=ids.device)
        lengths = ((ids != 0) * positions).amax(1)  # the last word's position
        order = torch.argsort(lengths)
        parts = []
        for rows in order.split(chunk):
            cut = min(width, int(lengths[rows].max()) + max(self.widths))
            seq = F.embedding(ids[rows, :cut].long(), self.word_table, padding_idx=0)
            seq = seq.transpose(1, 2)  # [PAD] (0) gets no gradient when the vectors train
            parts.append(self._over_time(seq))
        return torch.cat(parts)[torch.argsort(order)]

    def load_word_vectors(self, table: Tensor) -> None:
        """Fill the word-vector table (``over="words"``). Args: table: ``(vocab, word_dim)``."""
        if self.over != "words":
            raise ValueError('word vectors are read only with over="words"')
        if tuple(table.shape) != tuple(self.word_table.shape):
            raise ValueError(
                f"word vectors of shape {tuple(table.shape)}; the model's table is "
                f"{tuple(self.word_table.shape)} (options vocab and word_dim)"
            )
        with torch.no_grad():
            self.word_table.copy_(table)
        self.filled = True

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        if prefix + "word_table" in state_dict:  # trained word vectors (tune_words=True)
            self.filled = True
        super()._load_from_state_dict(state_dict, prefix, *args)

    def _along_conversation(self, x: Tensor, keep: Tensor) -> Tensor:
        """Args: x: ``(B, T, D_in)`` (zero at padding); keep: ``(B, T)``.
        Returns: ``(B, T, filters * len(widths))``."""
        seq = x.transpose(1, 2)  # (B, D_in, T)
        outs = []
        for k, conv in zip(self.widths, self.convs):
            left = (k - 1) // 2
            h = F.relu(conv(F.pad(seq, (left, k - 1 - left))))  # (B, F, T)
            # max over a window of k utterances, real ones only (ReLU >= 0, so 0 is neutral)
            h = h.masked_fill(~keep.unsqueeze(1), 0.0)
            outs.append(F.max_pool1d(F.pad(h, (left, k - 1 - left)), k, stride=1))
        return torch.cat(outs, dim=1).transpose(1, 2)

    @property
    def can_step(self) -> bool:
        """Whether :meth:`step` can answer one utterance at a time: every context-free
        reading (``over`` other than ``"utterances"``)."""
        return self.over != "utterances"

    def step(self, x: Tensor, speaker: int, state: object) -> Tensor:
        """The output of one more utterance, which a context-free reading computes from
        that utterance alone (``speaker`` and ``state`` are not read): the last row of
        :meth:`forward` over the dialogue so far.

        Args:
            x: ``(1, D_in)``. Returns: ``(1, dense)``.
        """
        if not self.can_step:
            raise ValueError('step needs a context-free TextCNN (over="utterances" reads context)')
        one = torch.ones(x.shape[0], 1, dtype=torch.bool, device=x.device)
        return self.forward(x.unsqueeze(1), one, one.long())[:, 0]

    def forward(self, x: Tensor, mask: Tensor, speakers: Tensor) -> Tensor:
        keep = mask.to(torch.bool)
        if self.norm is not None:
            x = x.masked_scatter(keep.unsqueeze(-1), self._normalise(x[keep]))
        if self.over != "utterances":
            per = {"features": self._per_utterance, "projected": self._projected}.get(
                self.over, self._words
            )
            pooled = unpack_rows(per(x[keep]), keep)  # padded utterances: not computed
        else:
            pooled = self._along_conversation(x.masked_fill(~keep.unsqueeze(-1), 0.0), keep)
        h = torch.relu(self.dense(self.drop(pooled)))  # Kim's one dropout, on the pooled features
        return h.masked_fill(~keep.unsqueeze(-1), 0.0)


register_backbone(
    "textcnn",
    TextCNNEncoder,
    label="TextCNN",
    description='TextCNN (Kim 2014; context-free; ``over="words"``: Kim\'s CNN over the words, '
    '``over="utterances"``: contextual) with any fusion at any embedding point.',
    width_option="filters",
    dropout_origin="Kim (2014): dropout 0.5 on the pooled features, the only dropout",
    head_dropout=False,  # Kim's dropout is on the pooled features only
    space={
        "filters": Int(50, 200, step=50),
        "dense": Int(50, 200, step=50),
    },
)
