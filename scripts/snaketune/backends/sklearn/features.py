"""The scikit-learn engine's features: text preprocessing and the per-trial encoders.

Number, binary and category columns are prepared by the shared preprocessors
(`backends/preprocessing.py`); text becomes sparse token counts over a vocabulary
(CountVectorizer), fitted on the training split only.

An encoder (fitted per trial, on the training split) turns the prepared form into
model inputs: passthrough, onehot / ordinal / target for categories, bag / tf_idf
(optionally reduced by TruncatedSVD) for text.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, TargetEncoder

# The shared preprocessors stay importable from here: prepared data and models pickled
# before they moved name this module.
from snaketune.backends.preprocessing import (  # noqa: F401
    BinaryPreprocessor,
    CategoryPreprocessor,
    CategoryTarget,
    NumberPreprocessor,
    Preprocessor,
    fill_sequential,
    missing_mask,
    most_common,
)
from snaketune.backends.preprocessing import (
    make_preprocessor as shared_make_preprocessor,
)
from snaketune.errors import DataError


class TextAnalyzer:
    """Tokenizer for CountVectorizer: Ludwig's tokenizer names, truncation, word n-grams."""

    _PUNCT = re.compile(r"<unk>|<UNK>|\w+|[^\w\s]", re.UNICODE)

    def __init__(self, tokenizer: str, lowercase: bool, max_sequence_length: int, ngram_size: int):
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.max_sequence_length = max_sequence_length
        self.ngram_size = ngram_size

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        if self.tokenizer == "space_punct":
            tokens = self._PUNCT.findall(text)
        elif self.tokenizer == "characters":
            tokens = [c for c in text if not c.isspace()]
        else:  # space, ngram
            tokens = text.split()
        tokens = tokens[: self.max_sequence_length]
        if self.tokenizer != "ngram" or self.ngram_size < 2:
            return tokens
        grams = list(tokens)
        for n in range(2, self.ngram_size + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams


class TextPreprocessor(Preprocessor):
    kind = "text"

    def _docs(self, series: pd.Series) -> list[str]:
        docs = series.astype("object").where(~missing_mask(series), None)
        docs = fill_sequential(docs, self.strategy)
        missing = docs.isna()
        if missing.any():
            docs = docs.where(~missing, self.missing_fill())
        return [str(d) for d in docs.tolist()]

    def fit(self, series: pd.Series) -> TextPreprocessor:
        present = series[~missing_mask(series)]
        if present.empty:
            raise DataError(f"{self.describe()}: every value in the training split is missing.")
        self.mode_ = most_common([str(v) for v in present.tolist()], 1)[0]
        p = self.params
        analyzer = TextAnalyzer(
            p["tokenizer"], p["lowercase"], p["max_sequence_length"], p["ngram_size"]
        )
        self.vectorizer_ = CountVectorizer(
            analyzer=analyzer, max_features=p["most_common"], dtype=np.float64
        )
        try:
            self.vectorizer_.fit(self._docs(series))
        except ValueError as exc:  # "empty vocabulary"
            raise DataError(
                f"{self.describe()}: no tokens in the training split ({exc})."
            ) from None
        return self

    @property
    def vocabulary_size(self) -> int:
        return len(self.vectorizer_.vocabulary_)

    def transform(self, series: pd.Series) -> sp.csr_matrix:
        return self.vectorizer_.transform(self._docs(series)).tocsr()


def make_preprocessor(feature: dict[str, Any]) -> Preprocessor:
    return shared_make_preprocessor(feature, TextPreprocessor)


# --------------------------------------------------------------------------- outputs


# --------------------------------------------------------------------------- encoders


def _cv_splitter(n_splits: int, target_type: str, seed: int) -> Any:
    from sklearn.model_selection import KFold, StratifiedKFold

    cls = KFold if target_type == "continuous" else StratifiedKFold
    return cls(n_splits=n_splits, shuffle=True, random_state=seed)


def _sklearn_at_least(major: int, minor: int) -> bool:
    parts = sklearn.__version__.split(".")
    return (int(parts[0]), int(re.match(r"\d+", parts[1]).group())) >= (major, minor)


class FeatureEncoder:
    """One input feature's encoder, fitted per trial on the prepared training column."""

    def __init__(self, feature: dict[str, Any], preprocessor: Preprocessor, seed: int):
        self.name = feature["name"]
        self.type = feature["type"]
        self.config = dict(feature["encoder"])
        self.preprocessor = preprocessor
        self.seed = seed
        self.steps: list[Any] = []

    def _build(self, target_type: str | None) -> list[Any]:
        kind = self.config["type"]
        if kind == "passthrough":
            return []
        if kind == "onehot":
            vocab = self.preprocessor.vocabulary_
            return [OneHotEncoder(categories=[vocab], handle_unknown="ignore", dtype=np.float64)]
        if kind == "ordinal":
            vocab = self.preprocessor.vocabulary_
            return [
                OrdinalEncoder(
                    categories=[vocab],
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    dtype=np.float64,
                )
            ]
        if kind == "target":
            vocab = self.preprocessor.vocabulary_
            kwargs: dict[str, Any] = {
                "categories": [vocab],
                "target_type": target_type,
                "smooth": self.config["smooth"],
            }
            if _sklearn_at_least(1, 9):
                kwargs["cv"] = _cv_splitter(self.config["cv"], target_type, self.seed)
            else:  # pragma: no cover - older scikit-learn
                kwargs.update(cv=self.config["cv"], shuffle=True, random_state=self.seed)
            return [TargetEncoder(**kwargs)]
        steps: list[Any] = []
        if kind == "tf_idf":
            steps.append(
                TfidfTransformer(
                    norm=self.config["norm"],
                    use_idf=self.config["use_idf"],
                    smooth_idf=self.config["smooth_idf"],
                    sublinear_tf=self.config["sublinear_tf"],
                )
            )
        elif kind == "bag" and self.config["binary"]:
            steps.append(FunctionTransformer(_presence, accept_sparse=True))
        size = self.config.get("embedding_size")
        if size is not None:
            vocabulary = self.preprocessor.vocabulary_size
            if size >= vocabulary:
                raise ValueError(
                    f"input_features.{self.name}.encoder.embedding_size: {size} must be smaller "
                    f"than the vocabulary size ({vocabulary} tokens kept from the training split, "
                    "at most preprocessing.most_common); "
                    f"choose embedding_size < {vocabulary} or null."
                )
            from sklearn.decomposition import TruncatedSVD

            steps.append(TruncatedSVD(n_components=size, random_state=self.seed))
        return steps

    def fit_transform(self, column: Any, y: np.ndarray | None, target_type: str | None) -> Any:
        self.steps = self._build(target_type)
        out = column
        for step in self.steps:
            out = (
                step.fit_transform(out, y)
                if isinstance(step, TargetEncoder)
                else step.fit_transform(out)
            )
        return out

    def transform(self, column: Any) -> Any:
        out = column
        for step in self.steps:
            out = step.transform(out)
        return out


def _presence(matrix: Any) -> Any:
    return (matrix > 0).astype(np.float64)


class InputEncoder:
    """All input features' encoders; stacks their outputs into one model matrix."""

    def __init__(
        self, features: list[dict[str, Any]], preprocessors: dict[str, Preprocessor], seed: int
    ):
        self.names = [f["name"] for f in features]
        self.encoders = {
            f["name"]: FeatureEncoder(f, preprocessors[f["name"]], seed) for f in features
        }

    def fit_transform(self, columns: dict[str, Any], y: np.ndarray, target_type: str) -> Any:
        parts = [self.encoders[n].fit_transform(columns[n], y, target_type) for n in self.names]
        return _stack(parts)

    def transform(self, columns: dict[str, Any]) -> Any:
        return _stack([self.encoders[n].transform(columns[n]) for n in self.names])


def _stack(parts: list[Any]) -> Any:
    if any(sp.issparse(p) for p in parts):
        return sp.hstack(
            [sp.csr_matrix(p) if not sp.issparse(p) else p for p in parts], format="csr"
        )
    return np.hstack([np.asarray(p, dtype=float) for p in parts])


def dense(matrix: Any) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
