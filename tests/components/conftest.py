"""The component functions run as KFP runs them: settings from the environment only."""

from __future__ import annotations

FAST_TRAINING = {
    "HOMEVAL_TRAIN_N_ESTIMATORS": "20",
    "HOMEVAL_TRAIN_NUM_LEAVES": "15",
    "HOMEVAL_TRAIN_TREE_MAX_DEPTH": "6",
}
"""Small models: the steps' tests judge what wraps training, not the model."""
