"""The scikit-learn engine (the embedded default): `ENGINE` implements docs/internals.md."""

from snaketune.backends.sklearn.engine import SklearnEngine

ENGINE = SklearnEngine()

__all__ = ["ENGINE", "SklearnEngine"]
