"""Datasets in the labels.csv layout (or real/ and fake/ folders), group-aware splits, crops cache."""

from fakelens.data.datasets import Sample, read_datasets
from fakelens.data.split import group_kfold, group_split

__all__ = ["Sample", "group_kfold", "group_split", "read_datasets"]
