"""The preprocessing both engines share: number, binary and category columns, and targets.

A preprocessor turns a raw column into the feature's prepared form, fitted on the
training split only (Ludwig's semantics: missing values, outliers, normalization,
vocabularies):

- number   -> float column: missing values filled, outliers replaced, normalized
- binary   -> 0/1 float column
- category -> string column over a fixed vocabulary (`<UNK>` first: unseen, rare, missing)

Text is engine-specific (token counts for scikit-learn, token ids for torch) and lives
in each engine. `CategoryTarget` and the target helpers turn an output column into what
models fit and metrics score.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

from snaketune.errors import DataError

UNKNOWN = "<UNK>"
TRUE_STRINGS = frozenset({"true", "t", "yes", "y", "1", "1.0", "on"})
FALSE_STRINGS = frozenset({"false", "f", "no", "n", "0", "0.0", "off"})


# --------------------------------------------------------------------------- helpers


def fill_sequential(series: pd.Series, strategy: str) -> pd.Series:
    """bfill / ffill in row order (Ludwig's strategies); other strategies are left alone."""
    if strategy == "bfill":
        return series.bfill()
    if strategy == "ffill":
        return series.ffill()
    return series


# Object columns whose distinct values never compare equal across types: for these,
# pandas' hashing (which makes 1, 1.0 and True one key) cannot merge values that map
# to different results.
_ONE_TYPE = frozenset({"string", "integer", "boolean", "empty"})


def map_values(series: pd.Series, fn: Callable[[Any], Any], missing: Any) -> np.ndarray:
    """`fn` of each row's value as an object array, `missing` where the value is NA.

    `fn` runs once per distinct value when that cannot change a result (a column of one
    type), and row by row otherwise (then NA rows get `fn` too: it must handle them).
    A million-row column has a few thousand distinct values, so this is what keeps
    preparing large data from being a Python loop per cell.
    """
    values = series.astype("object")
    uniform = not isinstance(series.dtype, pd.CategoricalDtype) and series.dtype != object
    if uniform or pd.api.types.infer_dtype(values, skipna=True) in _ONE_TYPE:
        codes, distinct = pd.factorize(values)
        mapped = np.empty(len(distinct) + 1, dtype=object)
        mapped[:-1] = [fn(v) for v in distinct]
        mapped[-1] = missing  # code -1
        return mapped[codes]
    return np.fromiter((fn(v) for v in values.tolist()), dtype=object, count=len(values))


def _blank(value: Any) -> bool:
    return isinstance(value, str) and value.strip() == ""


def missing_mask(series: pd.Series) -> np.ndarray:
    """Rows whose value is missing (NaN/None/NA; for strings also the empty string)."""
    mask = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        mask = mask | map_values(series, _blank, False).astype(bool)
    return mask


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _label(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return str(value)


def as_strings(series: pd.Series) -> pd.Series:
    """Labels as strings, NaN kept; integral floats print as integers ('3', not '3.0')."""
    out = pd.Series(map_values(series, _label, None), index=series.index, dtype=object)
    out[missing_mask(series)] = None
    return out


def _plain(value: Any) -> Any:
    """A numpy scalar as a Python one; an integral float as an int."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _describe(column: str, name: str) -> str:
    return f"feature {name!r}" + (f" (column {column!r})" if column != name else "")


# --------------------------------------------------------------------------- preprocessors


class Preprocessor:
    """Base: fit on the training column, transform any column of the same feature."""

    kind = ""

    def __init__(self, name: str, column: str, params: dict[str, Any]):
        self.name = name
        self.column = column
        self.params = dict(params)

    @property
    def strategy(self) -> str:
        return self.params["missing_value_strategy"]

    def drops_rows(self) -> bool:
        return self.strategy == "drop_row"

    def missing(self, series: pd.Series) -> np.ndarray:
        return missing_mask(series)

    def describe(self) -> str:
        return _describe(self.column, self.name)

    def fills_with_mode(self) -> bool:
        """Whether a value still missing after bfill/ffill takes the training mode: with
        fill_with_mode, and with drop_row for rows that were not dropped (prediction)."""
        return self.strategy in ("fill_with_mode", "drop_row") and hasattr(self, "mode_")

    def missing_fill(self) -> Any:
        """What a value still missing after bfill/ffill becomes."""
        return self.mode_ if self.fills_with_mode() else self.params["fill_value"]


class NumberPreprocessor(Preprocessor):
    kind = "number"

    def _floats(self, series: pd.Series) -> np.ndarray:
        values = pd.to_numeric(
            series.astype("object").where(~missing_mask(series), None), errors="coerce"
        )
        bad = values.isna().to_numpy() & ~missing_mask(series)
        if bad.any():
            examples = ", ".join(repr(v) for v in series[bad].head(3).tolist())
            raise DataError(
                f"{self.describe()}: type number needs numbers, but the column holds {examples}; "
                "fix the data or declare the feature as category or text."
            )
        return values.to_numpy(dtype=float)

    def fit(self, series: pd.Series) -> NumberPreprocessor:
        x = self._floats(series)
        observed = x[np.isfinite(x)]
        if observed.size == 0:
            raise DataError(f"{self.describe()}: every value in the training split is missing.")
        self.mean_ = float(observed.mean())
        self.std_ = float(observed.std())
        values, counts = np.unique(observed, return_counts=True)
        self.mode_ = float(values[np.argmax(counts)])
        strategy = self.strategy
        if strategy == "fill_with_mean" or strategy == "drop_row":
            # drop_row rows never reach training; at predict time they get the mean.
            self.imputer_ = SimpleImputer(strategy="mean", keep_empty_features=True)
        elif strategy == "fill_with_mode":
            self.imputer_ = SimpleImputer(strategy="most_frequent", keep_empty_features=True)
        else:  # fill_with_const, and what bfill/ffill leave at the edges
            self.imputer_ = SimpleImputer(
                strategy="constant",
                fill_value=float(self.params["fill_value"]),
                keep_empty_features=True,
            )
        filled = self._fill(x, fit=True)
        normalization = self.params["normalization"]
        self.scaler_ = {
            "zscore": StandardScaler,
            "minmax": MinMaxScaler,
            "iq": lambda: RobustScaler(quantile_range=(25.0, 75.0)),
            "log1p": lambda: FunctionTransformer(
                np.log1p, inverse_func=np.expm1, check_inverse=False
            ),
            None: lambda: None,
        }[normalization]()
        if self.scaler_ is not None:
            self._check_log1p(filled)
            self.scaler_.fit(filled.reshape(-1, 1))
        return self

    def _check_log1p(self, values: np.ndarray) -> None:
        if self.params["normalization"] == "log1p" and (values <= -1).any():
            raise DataError(
                f"{self.describe()}: normalization log1p needs values > -1, but the data holds "
                f"{values[values <= -1][0]:g}; choose zscore, minmax, iq or null."
            )

    def _fill(self, x: np.ndarray, fit: bool = False) -> np.ndarray:
        x = fill_sequential(pd.Series(x), self.strategy).to_numpy(dtype=float)
        outliers = self.params["outlier_strategy"]
        if outliers is not None and self.std_ > 0:
            far = np.abs(x - self.mean_) > self.params["outlier_threshold"] * self.std_
            replacement = {
                "fill_with_const": float(self.params["fill_value"]),
                "fill_with_mean": self.mean_,
                "fill_with_mode": self.mode_,
            }[outliers]
            x = np.where(far & np.isfinite(x), replacement, x)
        column = x.reshape(-1, 1)
        if fit:
            self.imputer_.fit(column)
        return self.imputer_.transform(column).ravel()

    def values(self, series: pd.Series) -> np.ndarray:
        """Missing values filled and outliers replaced, in the column's own units."""
        return self._fill(self._floats(series))

    def transform(self, series: pd.Series) -> np.ndarray:
        filled = self.values(series)
        if self.scaler_ is None:
            return filled.reshape(-1, 1)
        self._check_log1p(filled)
        return self.scaler_.transform(filled.reshape(-1, 1))

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """From the normalized scale back to the column's units (for a number output)."""
        values = np.asarray(values, dtype=float).reshape(-1, 1)
        if self.scaler_ is None:
            return values.ravel()
        return self.scaler_.inverse_transform(values).ravel()


def _bool_of(value: Any) -> bool | None:
    """A conventional boolean spelling as bool, else None."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return None if isinstance(value, float) and math.isnan(value) else bool(value != 0)
    text = str(value).strip().lower()
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    return None


class BinaryPreprocessor(Preprocessor):
    kind = "binary"

    def fit(self, series: pd.Series) -> BinaryPreprocessor:
        present = series[~missing_mask(series)]
        if present.empty:
            raise DataError(f"{self.describe()}: every value in the training split is missing.")
        fallback = self.params["fallback_true_label"]
        strings = map_values(present, str, None)
        odd = sorted(set(strings[pd.isna(map_values(present, _bool_of, None))].tolist()))
        self.true_label_ = None
        if fallback is not None:
            self.true_label_ = str(fallback)
        elif odd:
            labels = sorted(set(strings.tolist()))
            if len(labels) > 2:
                raise DataError(
                    f"{self.describe()}: type binary needs two values, but the training split "
                    f"holds {len(labels)} ({', '.join(labels[:5])}"
                    f"{', ...' if len(labels) > 5 else ''}); "
                    "declare it as category, or set preprocessing.fallback_true_label."
                )
            # Two unconventional labels: the one that sorts last means true (documented).
            self.true_label_ = labels[-1]
        self.labels_ = sorted(set(strings.tolist()))
        codes = self._codes(present)
        self.mode_ = bool(codes.mean() > 0.5)
        return self

    def _codes(self, series: pd.Series) -> np.ndarray:
        """0/1 of values that are not missing."""
        if self.true_label_ is not None:
            return map_values(series, lambda v: str(v) == self.true_label_, False).astype(float)
        flags = map_values(series, _bool_of, None)
        odd = np.flatnonzero(pd.isna(flags))
        if odd.size:
            value = series.iloc[odd[0]]
            raise DataError(
                f"{self.describe()}: {value!r} is not a boolean value (true/false, yes/no, "
                "1/0, ...); set preprocessing.fallback_true_label to the label meaning true."
            )
        return flags.astype(float)

    def _fill_value(self) -> float:
        strategy = self.strategy
        if strategy == "fill_with_const" and self.params["fill_value"] is not None:
            value = self.params["fill_value"]
            flag = _bool_of(value) if self.true_label_ is None else str(value) == self.true_label_
            return float(bool(flag))
        if strategy in ("fill_with_mode", "drop_row"):
            return float(self.mode_)
        return 0.0  # fill_with_false, and what bfill/ffill leave at the edges

    def transform(self, series: pd.Series) -> np.ndarray:
        series = fill_sequential(
            series.astype("object").where(~missing_mask(series), None), self.strategy
        )
        missing = series.isna().to_numpy()
        out = np.full(len(series), self._fill_value())
        if (~missing).any():
            out[~missing] = self._codes(series[~missing])
        return out.reshape(-1, 1)


class CategoryPreprocessor(Preprocessor):
    kind = "category"

    def _labels(self, series: pd.Series) -> pd.Series:
        labels = as_strings(series)
        if self.params["lowercase"]:
            labels = pd.Series(map_values(labels, _lower, None), index=labels.index)
        labels = fill_sequential(labels, self.strategy)
        missing = labels.isna()
        if missing.any():
            labels = labels.where(~missing, self.missing_fill())
        return labels

    def fit(self, series: pd.Series) -> CategoryPreprocessor:
        raw = as_strings(series)
        present = raw.dropna()
        if present.empty:
            raise DataError(f"{self.describe()}: every value in the training split is missing.")
        if self.params["lowercase"]:
            present = present.str.lower()
        self.mode_ = most_common(present.tolist(), 1)[0]
        labels = self._labels(series)
        kept = [v for v in most_common(labels, None) if v != UNKNOWN]
        self.vocabulary_ = [UNKNOWN, *kept[: self.params["most_common"]]]
        self.index_ = {v: i for i, v in enumerate(self.vocabulary_)}
        return self

    def transform(self, series: pd.Series) -> np.ndarray:
        labels = self._labels(series)
        mapped = labels.where(labels.isin(self.vocabulary_), UNKNOWN)
        return mapped.to_numpy(dtype=object).reshape(-1, 1)


def most_common(values: list[str] | pd.Series, limit: int | None) -> list[str]:
    """Distinct values by descending count, ties by value (deterministic)."""
    counts = pd.Series(values, dtype=object).value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [v for v, _ in ordered[:limit]]


TABULAR_PREPROCESSORS: dict[str, type[Preprocessor]] = {
    "number": NumberPreprocessor,
    "binary": BinaryPreprocessor,
    "category": CategoryPreprocessor,
}


def make_preprocessor(feature: dict[str, Any], text: type[Preprocessor]) -> Preprocessor:
    """The feature's preprocessor, unfitted; `text` is the engine's own text preprocessor."""
    kind = text if feature["type"] == "text" else TABULAR_PREPROCESSORS[feature["type"]]
    return kind(feature["name"], feature["column"], feature["preprocessing"])


# --------------------------------------------------------------------------- outputs


class CategoryTarget:
    """Class labels of a category output, fitted on training: index in `classes_` or -1."""

    def __init__(self, preprocessor: CategoryPreprocessor):
        self.preprocessor = preprocessor

    def fit(self, series: pd.Series) -> CategoryTarget:
        self.preprocessor.fit(series)
        labels = self.preprocessor.transform(series).ravel()
        present = set(labels.tolist())
        # `<UNK>` is a class only when training has labels mapped to it (rare or filled).
        self.classes_ = [c for c in self.preprocessor.vocabulary_ if c in present]
        self.index_ = {c: i for i, c in enumerate(self.classes_)}
        # Each class as the dataset wrote it (e.g. the integer 3, not '3'), for predictions.
        self.originals_ = {}
        for raw, label in zip(series.tolist(), labels.tolist(), strict=True):
            if label not in self.originals_ and not missing_mask(pd.Series([raw], dtype=object))[0]:
                self.originals_[label] = _plain(raw)
        return self

    @property
    def labels_(self) -> list[Any]:
        """The classes in the dataset's own values (`<UNK>` stays a string)."""
        return [self.originals_.get(c, c) for c in self.classes_]

    def encode(self, series: pd.Series) -> np.ndarray:
        """Class index per row; -1 for a label never seen in training (and no `<UNK>` class)."""
        mapped = self.preprocessor.transform(series).ravel().tolist()
        return np.array([self.index_.get(label, -1) for label in mapped], dtype=int)
