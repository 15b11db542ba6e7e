"""Ludwig's ECD network: encoders -> concat combiner -> decoder, and its plain-data spec.

A `spec` is everything needed to rebuild the same network (for the saved predictor):

    {"config": <the config with every default>,
     "inputs": {name: {"vocab_size", "sequence_length", "padding"}},  # what prepare fitted
     "output": {"type": "category", "n_classes": 3}}

`build_model(spec)` returns an `ECD`; its forward takes {feature name: batch tensor} and
returns logits: (batch, n_classes) for category, (batch,) for binary and number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.special import expit, softmax
from torch import nn

from snaketune.backends.torch_engine import layers
from snaketune.backends.torch_engine.encoders import build_encoder

# dtype of each input type's prepared array
INPUT_DTYPES = {
    "number": torch.float32,
    "binary": torch.float32,
    "category": torch.long,
    "text": torch.long,
}


class ConcatCombiner(nn.Module):
    """Concatenates the encoder outputs (flattened first with `flatten_inputs`), then a fully
    connected stack: `fc_layers`, else `num_fc_layers` x `output_size` (default: none)."""

    def __init__(self, config: dict[str, Any], shapes: list[tuple[int, ...]]):
        super().__init__()
        self.flatten = config["flatten_inputs"]
        size = 0
        for shape in shapes:
            size += int(np.prod(shape)) if self.flatten else shape[-1]
        self.input_size = size
        specs = layers.fc_specs(config["fc_layers"], config["num_fc_layers"], config)
        self.fc = layers.FCStack(size, specs, residual=config["residual"])
        self.output_size = self.fc.output_size

    def forward(self, hidden: list[torch.Tensor]) -> torch.Tensor:
        if self.flatten:
            hidden = [h.flatten(start_dim=1) for h in hidden]
        return self.fc(torch.cat(hidden, dim=-1))


class Decoder(nn.Module):
    """A fully connected stack (`fc_layers` / `num_fc_layers` x `fc_output_size`, default none)
    then the projection to the logits: `classifier` (one per class; one for binary) or
    `regressor` (one value)."""

    def __init__(self, config: dict[str, Any], in_size: int, n_outputs: int):
        super().__init__()
        defaults = {
            "output_size": config["fc_output_size"],
            "activation": config["fc_activation"],
            "dropout": config["fc_dropout"],
            "norm": config["fc_norm"],
            "use_bias": config["fc_use_bias"],
            "weights_initializer": config["fc_weights_initializer"],
            "bias_initializer": config["fc_bias_initializer"],
        }
        specs = layers.fc_specs(config["fc_layers"], config["num_fc_layers"], defaults)
        self.fc = layers.FCStack(in_size, specs)
        self.projection = nn.Linear(self.fc.output_size, n_outputs, bias=config["use_bias"])
        layers.initialize(self.projection.weight, config["weights_initializer"])
        if self.projection.bias is not None:
            layers.initialize(self.projection.bias, config["bias_initializer"])

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.projection(self.fc(hidden))


class ECD(nn.Module):
    """Encoders (one per input feature, in config order) -> combiner -> decoder.

    The encoders sit in a list, not a dict keyed by feature name: a column may be named
    like a module attribute (`type`, `training`, `forward`) or hold a dot, which
    `nn.ModuleDict` refuses.
    """

    def __init__(self, spec: dict[str, Any]):
        super().__init__()
        config = spec["config"]
        self.names = [f["name"] for f in config["input_features"]]
        self.encoders = nn.ModuleList(
            build_encoder(f, spec["inputs"].get(f["name"], {})) for f in config["input_features"]
        )
        shapes = [encoder.output_shape for encoder in self.encoders]
        self.combiner = ConcatCombiner(config["combiner"], shapes)
        output = config["output_features"][0]
        self.output_type = output["type"]
        n_outputs = spec["output"]["n_classes"] if self.output_type == "category" else 1
        self.decoder = Decoder(output["decoder"], self.combiner.output_size, n_outputs)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = [
            encoder(inputs[name]) for name, encoder in zip(self.names, self.encoders, strict=True)
        ]
        logits = self.decoder(self.combiner(hidden))
        return logits if self.output_type == "category" else logits.squeeze(-1)

    def has_batch_norm(self) -> bool:
        return any(isinstance(m, nn.BatchNorm1d) for m in self.modules())


def build_model(spec: dict[str, Any]) -> ECD:
    return ECD(spec)


def to_tensors(
    X: dict[str, np.ndarray], types: dict[str, str], rows: Any, device: torch.device
) -> dict[str, torch.Tensor]:
    """A batch (`rows`: indices or a slice) of every input array, as tensors on `device`."""
    return {
        name: torch.as_tensor(array[rows], dtype=INPUT_DTYPES[types[name]], device=device)
        for name, array in X.items()
    }


@torch.no_grad()
def predict_logits(
    model: ECD,
    X: dict[str, np.ndarray],
    types: dict[str, str],
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """Logits for every row, in evaluation mode, as float64 numpy."""
    model.eval()
    n = len(next(iter(X.values())))
    parts = []
    for start in range(0, n, batch_size):
        batch = to_tensors(X, types, slice(start, start + batch_size), device)
        parts.append(model(batch).detach().cpu().double().numpy())
    if not parts:
        return np.zeros((0,))
    return np.concatenate(parts, axis=0)


def outputs_from_logits(logits: np.ndarray, output_type: str) -> np.ndarray:
    """What metrics.compute takes: P(positive) for binary, class probabilities for category,
    the (still normalized) value for number."""
    if output_type == "binary":
        return expit(logits)
    if output_type == "category":
        return softmax(logits, axis=1)
    return logits
