"""Input feature encoders (Ludwig's ECD encoders in PyTorch), one class per encoder name.

Every encoder takes its feature's prepared batch (see preprocessing.py) and returns a
tensor whose shape without the batch dimension is `output_shape`: `(size,)`, or
`(length, size)` for a text encoder with `reduce_output: null`.

`build_encoder(feature, info)` picks the class from the feature's type and
`encoder.type`; `info` describes the prepared input (vocabulary size, sequence length).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from snaketune.backends.torch_engine import layers
from snaketune.backends.torch_engine.schema import RNN_MODULE

# Ludwig's layer lists when neither the list nor the number of layers is given.
PARALLEL_CNN_DEFAULT_CONV = [{"filter_size": 2}, {"filter_size": 3}, {"filter_size": 4},
                             {"filter_size": 5}]  # fmt: skip
STACKED_CNN_DEFAULT_CONV = [
    {"filter_size": 7, "pool_size": 3},
    {"filter_size": 7, "pool_size": 3},
    {"filter_size": 3, "pool_size": None},
    {"filter_size": 3, "pool_size": None},
    {"filter_size": 3, "pool_size": None},
    {"filter_size": 3, "pool_size": 3},
]
CNN_DEFAULT_FC = [{"output_size": 512}, {"output_size": 256}]


class Encoder(nn.Module):
    output_shape: tuple[int, ...]

    @property
    def output_size(self) -> int:
        size = 1
        for dim in self.output_shape:
            size *= dim
        return size


# --------------------------------------------------------------------------- number, binary


class PassthroughEncoder(Encoder):
    """The prepared value itself: (batch, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.output_shape = (1,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class DenseEncoder(Encoder):
    """A fully connected stack over the (batch, 1) value: `num_layers` x `output_size`,
    or `fc_layers`."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        specs = layers.fc_specs(config["fc_layers"], config["num_layers"], config)
        self.fc = layers.FCStack(1, specs)
        self.output_shape = (self.fc.output_size,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


# --------------------------------------------------------------------------- category


class CategoryDenseEncoder(Encoder):
    """A trainable embedding of min(vocabulary, embedding_size) columns, then dropout."""

    def __init__(self, config: dict[str, Any], vocab_size: int):
        super().__init__()
        self.embed = layers.EmbedSequence(
            vocab_size,
            config["embedding_size"],
            "dense",
            config["embeddings_trainable"],
            config["dropout"],
            config["embedding_initializer"],
        )
        self.output_shape = (self.embed.output_size,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


class CategorySparseEncoder(Encoder):
    """The one-hot row as an embedding (fixed unless `embeddings_trainable`), then dropout."""

    def __init__(self, config: dict[str, Any], vocab_size: int):
        super().__init__()
        self.embed = layers.EmbedSequence(
            vocab_size, vocab_size, "sparse", config["embeddings_trainable"], config["dropout"]
        )
        self.output_shape = (vocab_size,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


class CategoryOneHotEncoder(Encoder):
    """The one-hot vector (no parameters)."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.output_shape = (vocab_size,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.one_hot(x, self.vocab_size).float()


class CategoryPassthroughEncoder(Encoder):
    """The vocabulary index as a number: (batch, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.output_shape = (1,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().unsqueeze(1)


# --------------------------------------------------------------------------- text


class SequenceEncoder(Encoder):
    """Shared by the text encoders: embedding, final reduction and fully connected stack."""

    def _embedding(self, config: dict[str, Any], info: dict[str, Any], initializer: str) -> None:
        self.padding = info["padding"]
        self.embed = layers.EmbedSequence(
            info["vocab_size"],
            config["embedding_size"],
            config["representation"],
            # Ludwig: a sparse (one-hot) text embedding is never trained.
            config["embeddings_trainable"] and config["representation"] == "dense",
            config["dropout"],
            initializer,
        )

    def _head(self, config: dict[str, Any], length: int, size: int, fc: list[dict] | None) -> None:
        """Reduction, then (only for a reduced sequence) the fully connected stack."""
        self.reduce_output = config["reduce_output"]
        self.out_length = length
        shape = layers.reduced_shape(length, size, self.reduce_output)
        self.fc = None
        if self.reduce_output is not None and fc:
            self.fc = layers.FCStack(shape[0], fc)
            shape = (self.fc.output_size,)
        self.output_shape = shape

    def _finish(self, hidden: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        last = None
        if self.reduce_output == "last":
            if hidden.shape[1] == ids.shape[1]:
                last = layers.last_index(ids, self.padding)
            else:  # the convolutions changed the length: take the final position
                last = torch.full((ids.shape[0],), hidden.shape[1] - 1, device=ids.device)
        hidden = layers.reduce_sequence(hidden, self.reduce_output, last)
        return self.fc(hidden) if self.fc is not None else hidden


class EmbedEncoder(SequenceEncoder):
    """Token embeddings reduced over the sequence (`reduce_output`, default sum)."""

    def __init__(self, config: dict[str, Any], info: dict[str, Any]):
        super().__init__()
        self._embedding(config, info, config["weights_initializer"])
        self._head(config, info["sequence_length"], self.embed.output_size, None)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self._finish(self.embed(ids), ids)


def _conv_defaults(config: dict[str, Any], *, stacked: bool) -> dict[str, Any]:
    out = {key: config.get(key) for key in layers.CONV_KEYS}
    if not stacked:  # parallel layers keep the length
        out.update(strides=1, padding="same", dilation_rate=1, pool_strides=None)
        out["pool_padding"] = "same"
    return out


def _cnn_fc(config: dict[str, Any]) -> list[dict[str, Any]]:
    return layers.fc_specs(
        config["fc_layers"], config["num_fc_layers"], config, default_layers=CNN_DEFAULT_FC
    )


class ParallelCNNEncoder(SequenceEncoder):
    """Embeddings -> parallel 1-d convolutions (default widths 2, 3, 4, 5), concatenated along
    the channels -> reduction (default sum) -> fully connected stack (default 512, 256)."""

    def __init__(self, config: dict[str, Any], info: dict[str, Any], where: str):
        super().__init__()
        self._embedding(config, info, config["weights_initializer"])
        specs = layers.conv_specs(
            config["conv_layers"],
            config["num_conv_layers"],
            _conv_defaults(config, stacked=False),
            PARALLEL_CNN_DEFAULT_CONV,
        )
        length = info["sequence_length"]
        self.convs = nn.ModuleList(
            layers.Conv1DLayer(self.embed.output_size, length, spec, f"{where}.conv_layers[{i}]")
            for i, spec in enumerate(specs)
        )
        lengths = {conv.out_length for conv in self.convs}
        if len(lengths) > 1:
            raise ValueError(
                f"{where}.conv_layers: the parallel layers pool to different lengths "
                f"({sorted(lengths)}); give them the same pool_size."
            )
        channels = sum(spec["num_filters"] for spec in specs)
        self._head(config, lengths.pop(), channels, _cnn_fc(config))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        embedded = self.embed(ids)
        hidden = torch.cat([conv(embedded) for conv in self.convs], dim=-1)
        return self._finish(hidden, ids)


class StackedCNNEncoder(SequenceEncoder):
    """Embeddings -> stacked 1-d convolutions (default six: widths 7, 7, 3, 3, 3, 3 with max
    pools of 3 after the 1st, 2nd and 6th) -> reduction (default sum) -> fully connected
    stack (default 512, 256)."""

    def __init__(self, config: dict[str, Any], info: dict[str, Any], where: str):
        super().__init__()
        self._embedding(config, info, config["weights_initializer"])
        specs = layers.conv_specs(
            config["conv_layers"],
            config["num_conv_layers"],
            _conv_defaults(config, stacked=True),
            STACKED_CNN_DEFAULT_CONV,
        )
        length, channels = info["sequence_length"], self.embed.output_size
        self.convs = nn.ModuleList()
        for i, spec in enumerate(specs):
            conv = layers.Conv1DLayer(channels, length, spec, f"{where}.conv_layers[{i}]")
            self.convs.append(conv)
            length, channels = conv.out_length, spec["num_filters"]
        self._head(config, length, channels, _cnn_fc(config))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(ids)
        for conv in self.convs:
            hidden = conv(hidden)
        return self._finish(hidden, ids)


class RNNEncoder(SequenceEncoder):
    """Embeddings -> `num_layers` recurrent layers (rnn, lstm or gru; optionally
    bidirectional) -> reduction (default: the last real token) -> fully connected stack
    (default none)."""

    def __init__(self, config: dict[str, Any], info: dict[str, Any]):
        super().__init__()
        self._embedding(config, info, config["weights_initializer"])
        kind = RNN_MODULE[config["cell_type"]]
        kwargs: dict[str, Any] = {
            "input_size": self.embed.output_size,
            "hidden_size": config["state_size"],
            "num_layers": config["num_layers"],
            "bias": config["use_bias"],
            "batch_first": True,
            "dropout": config["recurrent_dropout"] if config["num_layers"] > 1 else 0.0,
            "bidirectional": config["bidirectional"],
        }
        if kind == "rnn":
            self.rnn = nn.RNN(nonlinearity=config["activation"], **kwargs)
        else:
            self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(**kwargs)
        for name, param in self.rnn.named_parameters():
            if name.startswith("weight_ih"):
                layers.initialize(param, config["weights_initializer"])
            elif name.startswith("weight_hh"):
                layers.initialize(param, config["recurrent_initializer"])
            elif name.startswith("bias"):
                layers.initialize(param, config["bias_initializer"])
                if kind == "lstm" and config["unit_forget_bias"] and name.startswith("bias_ih"):
                    size = config["state_size"]
                    with torch.no_grad():  # gates are ordered input, forget, cell, output
                        param[size : 2 * size] += 1.0
        size = config["state_size"] * (2 if config["bidirectional"] else 1)
        fc_defaults = {
            **config,
            "activation": config["fc_activation"],
            "dropout": config["fc_dropout"],
        }
        fc = layers.fc_specs(config["fc_layers"], config["num_fc_layers"], fc_defaults)
        self._head(config, info["sequence_length"], size, fc)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(self.embed(ids))
        return self._finish(hidden, ids)


# --------------------------------------------------------------------------- registry


def build_encoder(feature: dict[str, Any], info: dict[str, Any]) -> Encoder:
    config = feature["encoder"]
    kind, ftype = config["type"], feature["type"]
    where = f"input_features.{feature['name']}.encoder"
    if ftype in ("number", "binary"):
        return PassthroughEncoder() if kind == "passthrough" else DenseEncoder(config)
    if ftype == "category":
        vocab = info["vocab_size"]
        if kind == "dense":
            return CategoryDenseEncoder(config, vocab)
        if kind == "sparse":
            return CategorySparseEncoder(config, vocab)
        if kind == "onehot":
            return CategoryOneHotEncoder(vocab)
        return CategoryPassthroughEncoder()
    if kind == "embed":
        return EmbedEncoder(config, info)
    if kind == "parallel_cnn":
        return ParallelCNNEncoder(config, info, where)
    if kind == "stacked_cnn":
        return StackedCNNEncoder(config, info, where)
    return RNNEncoder(config, info)
