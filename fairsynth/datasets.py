"""Bundled real data sets, loaded offline from files shipped inside the package.

The files, their sources, licences and checksums are listed in ``fairsynth/data/LICENSES.md``;
the row filters and splits follow the project's evaluation protocol (docs/evaluation.md).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from importlib import resources

import pandas as pd
from sklearn.model_selection import train_test_split

from fairsynth.exceptions import DataError, format_choices

__all__ = ["DATASETS", "Dataset", "load_dataset"]

# sha256 of each shipped file, checked on every load so a corrupted install fails loudly.
_SHA256 = {
    "adult.data.gz": "0929e9d9c7845175493be1a8fd071b8e746a6b9f66d8bf359daabaac44713023",
    "adult.test.gz": "fcd5bcc9b18515fd2fd314e2bbd8444263ad0f2a0e638c060c34b0151555aaa2",
    "compas.csv.gz": "af1150d996f5c7745949a00cea813b752029f1e8bd6660ba814823e13764c0ea",
    "german.data.gz": "fb4b9063096409b19d03ae007ce2f195232a04f8ac4665112f78f312f962536a",
    "german_values.json": "73a48f120cdb8019fb9f0ad84078ef1ba109f1100bbcc6cbcf925d60e6adcd4e",
}

_ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]  # fmt: skip

_GERMAN_COLUMNS = [
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "present_employment", "installment_rate", "status_sex", "other_debtors",
    "residence_since", "property", "age", "installment_plans", "housing",
    "number_of_credits", "job", "people_liable", "telephone", "foreign_worker", "credit",
]  # fmt: skip


@dataclass(frozen=True)
class Dataset:
    """A real data set with its train/test split and its fairness roles.

    Attributes
    ----------
    name : str
        Short name, as passed to :func:`load_dataset`.
    train, test : pandas.DataFrame
        The training and held-out tables (same columns, same dtypes).
    target : str
        The outcome column.
    positive_label : object
        The favourable value of ``target``.
    sensitive : list of str
        Sensitive attributes, the first being the default one.
    discrete_columns : list of str
        Columns to model as categories (the target included).
    description : str
        One line on the source, filter and split.
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    target: str
    positive_label: object
    sensitive: list[str]
    discrete_columns: list[str]
    description: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _read_bytes(filename: str) -> bytes:
    data = resources.files("fairsynth.data").joinpath(filename).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != _SHA256[filename]:
        raise DataError(
            f"Bundled file {filename!r} is corrupted (sha256 {digest}, expected "
            f"{_SHA256[filename]}). Reinstall fairsynth."
        )
    return data


def _read_gzip_text(filename: str) -> str:
    return gzip.decompress(_read_bytes(filename)).decode("utf-8")


def _load_adult() -> Dataset:
    def read(filename: str) -> pd.DataFrame:
        text = _read_gzip_text(filename)
        frame = pd.read_csv(
            io.StringIO(text),
            header=None,
            names=_ADULT_COLUMNS,
            sep=r",\s*",
            engine="python",
            na_values="?",
            comment="|",  # adult.test starts with a '|1x3 Cross validator' line
        )
        frame = frame.dropna().reset_index(drop=True)
        frame["income"] = frame["income"].str.rstrip(".")
        return frame

    train, test = read("adult.data.gz"), read("adult.test.gz")
    discrete = [c for c in _ADULT_COLUMNS if train[c].dtype == object]
    return Dataset(
        name="adult",
        train=train,
        test=test,
        target="income",
        positive_label=">50K",
        sensitive=["sex", "race"],
        discrete_columns=discrete,
        description="UCI Adult, rows with missing values dropped, official train/test files",
    )


def _split(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = train_test_split(frame, test_size=0.3, stratify=frame[target], random_state=0)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _load_compas() -> Dataset:
    frame = pd.read_csv(io.StringIO(_read_gzip_text("compas.csv.gz")))
    train, test = _split(frame, "two_year_recid")
    discrete = [c for c in frame.columns if frame[c].dtype == object] + ["two_year_recid"]
    return Dataset(
        name="compas",
        train=train,
        test=test,
        target="two_year_recid",
        positive_label=0,  # no recidivism within two years is the favourable outcome
        sensitive=["race", "sex"],
        discrete_columns=discrete,
        description="ProPublica COMPAS two-year recidivism, standard filter, 70/30 split",
    )


def _load_german() -> Dataset:
    frame = pd.read_csv(
        io.StringIO(_read_gzip_text("german.data.gz")), sep=" ", header=None, names=_GERMAN_COLUMNS
    )
    maps = json.loads(_read_bytes("german_values.json").decode("utf-8"))
    for column, mapping in maps.items():
        frame[column] = frame[column].map(lambda v, m=mapping: _german_label(m[str(v)]))
    sex = frame["status_sex"].str.split(":").str[0].str.strip()
    frame.insert(frame.columns.get_loc("status_sex"), "sex", sex)
    frame = frame.drop(columns=["status_sex"])
    train, test = _split(frame, "credit")
    discrete = [c for c in frame.columns if frame[c].dtype == object]
    return Dataset(
        name="german",
        train=train,
        test=test,
        target="credit",
        positive_label="good",
        sensitive=["sex"],
        discrete_columns=discrete,
        description="Statlog German credit, sex from personal status, stratified 70/30 split",
        extra={"age_threshold": 25},
    )


def _german_label(value: object) -> str:
    if isinstance(value, bool):  # telephone and foreign_worker are coded as booleans
        return "yes" if value else "no"
    return str(value).strip()


DATASETS = {"adult": _load_adult, "compas": _load_compas, "german": _load_german}


def load_dataset(name: str) -> Dataset:
    """Load a bundled data set by name, offline.

    Parameters
    ----------
    name : {'adult', 'compas', 'german'}
        Which data set.

    Returns
    -------
    Dataset
        Train and test tables with the target, positive label, sensitive and discrete columns.

    Examples
    --------
    >>> ds = load_dataset("adult")
    >>> ds.train.shape, ds.test.shape
    ((30162, 15), (15060, 15))
    >>> ds.target, ds.positive_label, ds.sensitive[0]
    ('income', '>50K', 'sex')
    """
    try:
        loader = DATASETS[name]
    except KeyError:
        raise DataError(
            f"Unknown data set {name!r}. Available: {format_choices(DATASETS)}"
        ) from None
    return loader()
