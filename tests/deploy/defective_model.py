"""A model with a defect, for the alert tests: it prices every listing but those of one
city, where its encoder raises — what a bad promotion looks like to a real predictor (a
500 for each such request), with no hook in the predictor.  The predictor unpickles the
class from here, so its process needs the repository on ``PYTHONPATH``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from homeval.data.listing_batch import ListingBatch
from homeval.model.features import ListingEncoder

DEFECT_CITY = "Defectville"


class DefectiveEncoder(ListingEncoder):
    def encode_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if any(record.get("city") == DEFECT_CITY for record in records):
            raise RuntimeError(f"the model cannot encode {DEFECT_CITY}")
        return super().encode_records(records)

    def encode_batch(self, batch: ListingBatch) -> np.ndarray:
        if DEFECT_CITY in batch.city:
            raise RuntimeError(f"the model cannot encode {DEFECT_CITY}")
        return super().encode_batch(batch)


def make_defective(estimator: Any) -> Any:
    """The fitted estimator, its encoder turned into the defective one (state kept)."""
    from homeval.model.estimator import model_parts

    model_parts(estimator).encoder.__class__ = DefectiveEncoder
    return estimator
