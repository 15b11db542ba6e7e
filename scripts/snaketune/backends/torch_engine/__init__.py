"""The torch engine (Ludwig's ECD networks in PyTorch): `ENGINE` implements docs/internals.md."""

from snaketune.backends.torch_engine.engine import TorchEngine

ENGINE = TorchEngine()

__all__ = ["ENGINE", "TorchEngine"]
