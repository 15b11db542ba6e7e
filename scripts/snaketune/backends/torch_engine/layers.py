"""Building blocks shared by encoders, combiner and decoders (Ludwig's modules, in PyTorch).

- `FCStack`: fully connected layers, each Linear -> norm -> activation -> dropout.
- `Conv1DLayer`: a 1-d convolution over a (batch, sequence, channels) tensor, each
  conv -> norm -> activation -> dropout -> optional pooling; `same`/`valid` padding.
- `EmbedSequence`: token ids -> embeddings (dense, or fixed one-hot for `sparse`).
- `reduce_sequence`: Ludwig's sequence reductions (sum, mean, max, concat, last).
- `fc_specs` / `conv_specs`: the per-layer parameter lists, resolved the way Ludwig
  resolves `fc_layers` / `num_fc_layers` (and `conv_layers` / `num_conv_layers`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

FC_KEYS = (
    "output_size",
    "activation",
    "dropout",
    "norm",
    "use_bias",
    "weights_initializer",
    "bias_initializer",
)
CONV_KEYS = (
    "filter_size",
    "num_filters",
    "strides",
    "padding",
    "dilation_rate",
    "pool_function",
    "pool_size",
    "pool_strides",
    "pool_padding",
    "activation",
    "dropout",
    "norm",
    "use_bias",
    "weights_initializer",
    "bias_initializer",
)


def activation(name: str | None) -> nn.Module:
    if name in (None, "linear", "identity"):
        return nn.Identity()
    return {
        "relu": nn.ReLU,
        "elu": nn.ELU,
        "leakyRelu": nn.LeakyReLU,
        "logSigmoid": nn.LogSigmoid,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "softmax": lambda: nn.Softmax(dim=-1),
        "gelu": nn.GELU,
    }[name]()


def initialize(tensor: torch.Tensor, name: str) -> None:
    """Ludwig's initializer names; `embedding` is Ludwig's default for embeddings (U(-1, 1))."""
    with torch.no_grad():
        if name == "embedding":
            nn.init.uniform_(tensor, -1.0, 1.0)
        elif name in ("zeros", "ones", "uniform", "normal"):
            getattr(nn.init, f"{name}_")(tensor)
        elif tensor.dim() < 2:  # fan-based initializers need a matrix; keep the default
            return
        else:
            getattr(nn.init, f"{name}_")(tensor)


def norm_layer(kind: str | None, size: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(size)
    if kind == "layer":
        return nn.LayerNorm(size)
    return nn.Identity()


# --------------------------------------------------------------------------- specs


def fc_specs(
    fc_layers: list[dict] | None,
    num_fc_layers: int | None,
    defaults: dict[str, Any],
    default_layers: list[dict] | None = None,
) -> list[dict[str, Any]]:
    """Each layer's parameters: explicit `fc_layers` win, else `num_fc_layers` copies of the
    defaults, else `default_layers` (Ludwig's [{512}, {256}] for the CNN encoders)."""
    if fc_layers is not None:
        layers = fc_layers
    elif num_fc_layers is not None:
        layers = [{} for _ in range(num_fc_layers)]
    else:
        layers = default_layers or []
    return [{key: layer.get(key, defaults[key]) for key in FC_KEYS} for layer in layers]


def conv_specs(
    conv_layers: list[dict] | None,
    num_conv_layers: int | None,
    defaults: dict[str, Any],
    default_layers: list[dict],
) -> list[dict[str, Any]]:
    if conv_layers is not None:
        layers = conv_layers
    elif num_conv_layers is not None:
        layers = [{} for _ in range(num_conv_layers)]
    else:
        layers = default_layers
    return [{key: layer.get(key, defaults.get(key)) for key in CONV_KEYS} for layer in layers]


# --------------------------------------------------------------------------- fully connected


class FCLayer(nn.Module):
    def __init__(self, in_size: int, spec: dict[str, Any]):
        super().__init__()
        self.linear = nn.Linear(in_size, spec["output_size"], bias=spec["use_bias"])
        initialize(self.linear.weight, spec["weights_initializer"])
        if self.linear.bias is not None:
            initialize(self.linear.bias, spec["bias_initializer"])
        self.norm = norm_layer(spec["norm"], spec["output_size"])
        self.activation = activation(spec["activation"])
        self.dropout = nn.Dropout(spec["dropout"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.activation(self.norm(self.linear(x))))


class FCStack(nn.Module):
    """Layers in order; with `residual`, a layer whose input and output sizes match adds its
    input to its output (Ludwig's residual fully connected blocks)."""

    def __init__(self, in_size: int, specs: list[dict[str, Any]], residual: bool = False):
        super().__init__()
        self.residual = residual
        self.layers = nn.ModuleList()
        size = in_size
        for spec in specs:
            self.layers.append(FCLayer(size, spec))
            size = spec["output_size"]
        self.output_size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            out = layer(x)
            x = out + x if self.residual and out.shape == x.shape else out
        return x


# --------------------------------------------------------------------------- convolutions


def _same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    out = math.ceil(length / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - length, 0)
    return total // 2, total - total // 2


def conv_length(length: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    if padding == "same":
        return math.ceil(length / stride)
    return (length - dilation * (kernel - 1) - 1) // stride + 1


class Conv1DLayer(nn.Module):
    """(batch, length, channels) -> (batch, length', num_filters)."""

    def __init__(self, in_channels: int, length: int, spec: dict[str, Any], where: str):
        super().__init__()
        self.spec = spec
        self.in_length = length
        k, s, d = spec["filter_size"], spec["strides"], spec["dilation_rate"]
        self.conv = nn.Conv1d(
            in_channels, spec["num_filters"], k, stride=s, dilation=d, bias=spec["use_bias"]
        )
        initialize(self.conv.weight, spec["weights_initializer"])
        if self.conv.bias is not None:
            initialize(self.conv.bias, spec["bias_initializer"])
        self.conv_length = conv_length(length, k, s, spec["padding"], d)
        self.norm_kind = spec["norm"]
        self.norm = norm_layer(spec["norm"], spec["num_filters"])
        self.activation = activation(spec["activation"])
        self.dropout = nn.Dropout(spec["dropout"])
        self.out_length = self.conv_length
        if spec["pool_size"] is not None:
            pool_stride = spec["pool_strides"] or spec["pool_size"]
            self.out_length = conv_length(
                self.conv_length, spec["pool_size"], pool_stride, spec["pool_padding"]
            )
        if self.conv_length < 1 or self.out_length < 1:
            raise ValueError(
                f"{where}: the sequence is {length} tokens long at this layer, too short for "
                f"filter_size {k} / pool_size {spec['pool_size']} with padding "
                f"'{spec['padding']}' / pool_padding '{spec['pool_padding']}'; use padding same, "
                "smaller filters or pools, or fewer layers."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = self.spec
        h = x.transpose(1, 2)  # (batch, channels, length)
        if spec["padding"] == "same":
            k, stride, dilation = spec["filter_size"], spec["strides"], spec["dilation_rate"]
            h = F.pad(h, _same_padding(h.shape[-1], k, stride, dilation))
        h = self.conv(h)
        if self.norm_kind == "layer":
            h = self.norm(h.transpose(1, 2)).transpose(1, 2)
        else:
            h = self.norm(h)
        h = self.dropout(self.activation(h))
        if spec["pool_size"] is not None:
            size = spec["pool_size"]
            stride = spec["pool_strides"] or size
            is_max = spec["pool_function"] == "max"
            if spec["pool_padding"] == "same":
                fill = float("-inf") if is_max else 0.0
                h = F.pad(h, _same_padding(h.shape[-1], size, stride), value=fill)
            h = F.max_pool1d(h, size, stride) if is_max else F.avg_pool1d(h, size, stride)
        return h.transpose(1, 2)


# --------------------------------------------------------------------------- sequences


class EmbedSequence(nn.Module):
    """Token ids (batch, length) -> (batch, length, size).

    `dense`: a trainable table of min(vocabulary, embedding_size) columns (Ludwig caps the
    size at the vocabulary size); `sparse`: the fixed one-hot table (width = vocabulary).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        representation: str = "dense",
        trainable: bool = True,
        dropout: float = 0.0,
        initializer: str | None = "embedding",
    ):
        super().__init__()
        if representation == "sparse":
            self.embedding = nn.Embedding(vocab_size, vocab_size)
            with torch.no_grad():
                self.embedding.weight.copy_(torch.eye(vocab_size))
            self.embedding.weight.requires_grad_(trainable)
        else:
            self.embedding = nn.Embedding(vocab_size, min(vocab_size, embedding_size))
            initialize(self.embedding.weight, initializer or "embedding")
            self.embedding.weight.requires_grad_(trainable)
        self.output_size = self.embedding.embedding_dim
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.embedding(ids))


def last_index(ids: torch.Tensor, padding: str) -> torch.Tensor:
    """Position of the last real token of each row (0 for an all-padding row)."""
    if padding == "left":
        return torch.full((ids.shape[0],), ids.shape[1] - 1, dtype=torch.long, device=ids.device)
    return ((ids != 0).sum(dim=1) - 1).clamp(min=0)


def reduce_sequence(
    hidden: torch.Tensor, mode: str | None, last: torch.Tensor | None = None
) -> torch.Tensor:
    """(batch, length, size) -> (batch, size) by Ludwig's reduction `mode` (None keeps it)."""
    if mode is None:
        return hidden
    if mode == "sum":
        return hidden.sum(dim=1)
    if mode in ("mean", "avg"):
        return hidden.mean(dim=1)
    if mode == "max":
        return hidden.max(dim=1).values
    if mode == "concat":
        return hidden.flatten(start_dim=1)
    if mode == "last":
        index = last.clamp(max=hidden.shape[1] - 1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), index]
    raise ValueError(f"unknown sequence reduction {mode!r}")


def reduced_shape(length: int, size: int, mode: str | None) -> tuple[int, ...]:
    if mode is None:
        return (length, size)
    if mode == "concat":
        return (length * size,)
    return (size,)
