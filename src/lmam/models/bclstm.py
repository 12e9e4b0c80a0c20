"""bc-LSTM (Poria et al., ACL 2017), with the optional matching attention of bc-LSTM+Att.

Utterance features -> bidirectional LSTM over the conversation -> dense
(ReLU, dropout). Options beyond the paper: a GRU cell, and variational input
and recurrent dropout in the recurrent layer (the regularisation of the
contextual inter-modal attention recipe, Ghosal et al., EMNLP 2018). With ``attention=True`` every utterance's LSTM output
attends over the whole conversation with the classic ``general2`` matching
attention and the attended vector replaces it before the dense layer (the
bc-LSTM+Att of the ERC literature).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lmam.models.registry import register_backbone
from lmam.nn.matching_attention import MatchingAttention
from lmam.nn.options import choice
from lmam.nn.rnn import BiRNN
from lmam.space import Int

ACTIVATIONS = ("relu", "tanh")


class BcLSTMEncoder(nn.Module):
    """Bidirectional LSTM (or GRU) over utterances, then a dense layer.

    Args:
        in_dim: utterance feature width ``D_in``.
        hidden: LSTM width per direction.
        dense: output width (``out_dim``).
        attention: add the matching attention over the LSTM outputs.
        dropout: dropout on the LSTM outputs and after the dense layer.
        cell: ``"lstm"``, ``"gru"`` or ``"gru_keras2"`` (Keras 2's GRU, as in the
            2017-2018 Keras code of bc-LSTM and its successors).
        input_dropout, recurrent_dropout: variational dropout of the
            recurrent layer's input and state (see :class:`~lmam.nn.rnn.BiRNN`).
        activation: of the dense layer, ``"relu"`` (bc-LSTM) or ``"tanh"``
            (the contextual inter-modal attention recipe).

    ``forward(x: (B, T, D_in), mask: (B, T), speakers: (B, T)) -> (B, T, dense)``.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int = 100,
        dense: int = 100,
        attention: bool = False,
        dropout: float = 0.2,
        cell: str = "lstm",
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.lstm = BiRNN(in_dim, hidden, cell, input_dropout, recurrent_dropout)
        self.activation = choice("activation", activation, ACTIVATIONS)
        self.attention = (
            MatchingAttention(2 * hidden, 2 * hidden, att_type="general2") if attention else None
        )
        self.dense = nn.Linear(2 * hidden, dense)
        self.drop = nn.Dropout(dropout)
        self.out_dim = dense

    def forward(self, x: Tensor, mask: Tensor, speakers: Tensor) -> Tensor:
        h = self.drop(self.lstm(x, mask))
        if self.attention is not None:
            h, _ = self.attention(h, h, mask)
        h = self.dense(h)
        h = self.drop(torch.tanh(h) if self.activation == "tanh" else torch.relu(h))
        return h.masked_fill(~mask.to(torch.bool).unsqueeze(-1), 0.0)


register_backbone(
    "bclstm",
    BcLSTMEncoder,
    label="bc-LSTM",
    description="bc-LSTM (``attention=True``: bc-LSTM+Att) with any fusion at any embedding point.",
    width_option="hidden",
    dropout_origin="no value published with bc-LSTM; 0.2, the value lmam's tables use for every backbone",
    space={
        "hidden": Int(50, 300, step=50),
        "dense": Int(50, 200, step=50),
    },
)
