"""Weight initialisations of other frameworks, for recipes published with them.

A short schedule (the contextual inter-modal attention recipe trains for 30
updates) depends on where training starts, so reproducing a recipe includes
its framework's default initialisation.
"""

from __future__ import annotations

from torch import nn

INITS = ("torch", "keras")


def keras_init_(model: nn.Module) -> nn.Module:
    """Keras' layer defaults, in place: Glorot-uniform weights of every ``Linear``
    and of the input weights of every ``LSTM``/``GRU``, orthogonal recurrent
    weights, zero biases. Other modules (LayerNorm, ...) keep theirs.

    Returns:
        ``model``.
    """
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            for name, param in module.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(param)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(param)
                else:
                    nn.init.zeros_(param)
    return model
