"""Preprocessing for the torch engine, fitted once per prepared dataset on the training split.

number, binary and category inputs use the scikit-learn engine's preprocessors (the
same missing-value strategies, normalizations and vocabularies); here they are turned
into arrays a network takes:

- number, binary -> float column (n, 1)
- category       -> int64 index into the vocabulary (`<UNK>` = 0: unseen, rare, missing)
- text           -> int64 token ids (n, sequence_length): `TextPreprocessor` below

Text follows Ludwig's sequence preprocessing: a tokenizer, optional lowercasing, a
vocabulary of the `most_common` training tokens after the padding symbol (id 0) and
the unknown symbol (id 1), truncation to `max_sequence_length` and padding.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from snaketune.backends import preprocessing as shared
from snaketune.errors import DataError

PAD_INDEX = 0
UNK_INDEX = 1

_SPACE = re.compile(r"\s+")
_SPACE_PUNCT = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str, tokenizer: str, ngram_size: int = 2) -> list[str]:
    """Ludwig's tokenizers by name (the ones that need no external model)."""
    if tokenizer == "space_punct":
        return _SPACE_PUNCT.findall(text)
    if tokenizer == "characters":
        return [c for c in text if not c.isspace()]
    if tokenizer == "underscore":
        return [t for t in text.split("_") if t.strip()]
    if tokenizer == "comma":
        return [t.strip() for t in text.split(",") if t.strip()]
    if tokenizer == "untokenized":
        return [text]
    if tokenizer == "stripped":
        return [text.strip()]
    tokens = [t for t in _SPACE.split(text.strip()) if t]
    if tokenizer == "ngram":
        grams = list(tokens)
        for n in range(2, ngram_size + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams
    return tokens  # space


class TextPreprocessor(shared.Preprocessor):
    """Raw text -> padded token-id matrix over a vocabulary fitted on the training split."""

    kind = "text"

    def _docs(self, series: pd.Series) -> list[str | None]:
        """Filled documents; None marks a value that becomes the unknown symbol alone."""
        docs = series.astype("object").where(~shared.missing_mask(series), None)
        docs = shared.fill_sequential(docs, self.strategy)
        missing = docs.isna().to_numpy()
        out: list[str | None] = []
        for value, is_missing in zip(docs.tolist(), missing, strict=True):
            if not is_missing:
                out.append(str(value))
            elif self.fills_with_mode():
                out.append(self.mode_)
            elif self.params["fill_value"] == self.params["unknown_symbol"]:
                out.append(None)
            else:
                out.append(str(self.params["fill_value"]))
        return out

    def _tokens(self, doc: str | None) -> list[str]:
        if doc is None:
            return [self.params["unknown_symbol"]]
        if self.params["lowercase"]:
            doc = doc.lower()
        return tokenize(doc, self.params["tokenizer"], self.params["ngram_size"])

    def fit(self, series: pd.Series) -> TextPreprocessor:
        present = series[~shared.missing_mask(series)]
        if present.empty:
            raise DataError(f"{self.describe()}: every value in the training split is missing.")
        self.mode_ = shared.most_common([str(v) for v in present.tolist()], 1)[0]
        p = self.params
        specials = (p["padding_symbol"], p["unknown_symbol"])
        counts: Counter[str] = Counter()
        longest = 0
        for doc in self._docs(series):
            tokens = self._tokens(doc)
            longest = max(longest, len(tokens))
            counts.update(t for t in tokens if t not in specials)
        if not counts:
            raise DataError(f"{self.describe()}: no tokens in the training split.")
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        self.vocabulary_ = [*specials, *(t for t, _ in ordered[: p["most_common"]])]
        self.index_ = {t: i for i, t in enumerate(self.vocabulary_)}
        if p["sequence_length"] is not None:
            self.length_ = p["sequence_length"]
        else:  # Ludwig: the longest training sequence, capped at max_sequence_length
            self.length_ = max(1, min(p["max_sequence_length"], longest))
        return self

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocabulary_)

    def transform(self, series: pd.Series) -> np.ndarray:
        length = self.length_
        out = np.full((len(series), length), PAD_INDEX, dtype=np.int64)
        left = self.params["padding"] == "left"
        for row, doc in enumerate(self._docs(series)):
            ids = [self.index_.get(t, UNK_INDEX) for t in self._tokens(doc)][:length]
            if ids:
                if left:
                    out[row, length - len(ids) :] = ids
                else:
                    out[row, : len(ids)] = ids
        return out


def make_preprocessor(feature: dict[str, Any]) -> shared.Preprocessor:
    return shared.make_preprocessor(feature, TextPreprocessor)


def to_array(preprocessor: shared.Preprocessor, series: pd.Series) -> np.ndarray:
    """The network's input array for one raw column."""
    if isinstance(preprocessor, shared.CategoryPreprocessor):
        labels = preprocessor.transform(series).ravel().tolist()
        return np.array([preprocessor.index_[label] for label in labels], dtype=np.int64)
    if isinstance(preprocessor, TextPreprocessor):
        return preprocessor.transform(series)
    return np.asarray(preprocessor.transform(series), dtype=np.float32).reshape(-1, 1)


def input_info(preprocessor: shared.Preprocessor) -> dict[str, Any]:
    """What building an encoder needs to know about its prepared input."""
    if isinstance(preprocessor, TextPreprocessor):
        return {
            "vocab_size": preprocessor.vocabulary_size,
            "sequence_length": int(preprocessor.length_),
            "padding": preprocessor.params["padding"],
        }
    if isinstance(preprocessor, shared.CategoryPreprocessor):
        return {"vocab_size": len(preprocessor.vocabulary_)}
    return {}
