"""A fitted LightGBM booster or scikit-learn decision tree as a Forest, read from the
library's public dump (neither library is imported here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from homeval.model.trees.builder import Builder
from homeval.model.trees.forest import NAN_MISSING, NONE_MISSING, ZERO_MISSING, Forest

_LGB_MISSING: Final = {"None": NONE_MISSING, "Zero": ZERO_MISSING, "NaN": NAN_MISSING}


def from_lightgbm(booster: Any, players: Sequence[int] | None = None) -> Forest:
    """A LightGBM regression booster (numerical splits only, one output) as a Forest.

    ``players`` (one index per feature) groups features whose TreeSHAP value is wanted as
    one: each group is one player of the Shapley game, not the sum of its features'
    values (see ``Forest.shap``)."""
    dump = booster.dump_model()
    if dump.get("num_tree_per_iteration", 1) != 1:
        raise ValueError("only single-output LightGBM models can be flattened")
    builder = Builder()
    for tree in dump["tree_info"]:
        builder.roots.append(_lgb_node(builder, tree["tree_structure"]))
    return builder.build(int(dump["max_feature_idx"]) + 1, float32_inputs=False, players=players)


def _lgb_node(builder: Builder, root: dict[str, Any]) -> int:
    def make(spec: dict[str, Any]) -> int:
        if "split_feature" not in spec:
            return builder.node(
                value=float(spec["leaf_value"]), cover=float(spec.get("leaf_count", 1))
            )
        if spec.get("decision_type", "<=") != "<=":
            raise ValueError("categorical LightGBM splits are not supported by the fast path")
        return builder.node(
            feature=int(spec["split_feature"]),
            threshold=float(spec["threshold"]),
            missing=_LGB_MISSING[spec.get("missing_type", "None")],
            default_left=bool(spec.get("default_left", True)),
            cover=float(spec.get("internal_count", 1)),
        )

    # explicit stack: LightGBM trees can be deeper than Python's comfortable recursion
    top = make(root)
    stack = [(root, top)]
    while stack:
        spec, index = stack.pop()
        if "split_feature" not in spec:
            continue
        for side, attr in (("left_child", builder.left), ("right_child", builder.right)):
            child_spec = spec[side]
            child = make(child_spec)
            attr[index] = child
            stack.append((child_spec, child))
    return top


def from_sklearn_tree(tree_model: Any, players: Sequence[int] | None = None) -> Forest:
    """A fitted scikit-learn ``DecisionTreeRegressor`` (single output) as a Forest."""
    tree = tree_model.tree_
    if tree.n_outputs != 1:
        raise ValueError("only single-output trees can be flattened")
    go_left = getattr(tree, "missing_go_to_left", None)
    builder = Builder()
    offset = len(builder.feature)
    for i in range(tree.node_count):
        leaf = tree.children_left[i] < 0
        builder.node(
            feature=-1 if leaf else int(tree.feature[i]),
            threshold=float(tree.threshold[i]),
            missing=NAN_MISSING,
            default_left=bool(go_left[i]) if go_left is not None else False,
            value=float(tree.value[i].ravel()[0]),
            cover=float(tree.weighted_n_node_samples[i]),
        )
        if not leaf:
            builder.left[offset + i] = offset + int(tree.children_left[i])
            builder.right[offset + i] = offset + int(tree.children_right[i])
    builder.roots.append(offset)
    return builder.build(int(tree_model.n_features_in_), float32_inputs=True, players=players)


def from_regressor(regressor: Any, players: Sequence[int] | None = None) -> Forest:
    """Whichever regressor homeval trains (LightGBM or a decision tree)."""
    if hasattr(regressor, "booster_"):
        return from_lightgbm(regressor.booster_, players)
    if hasattr(regressor, "tree_"):
        return from_sklearn_tree(regressor, players)
    raise ValueError(f"no fast path for {type(regressor).__name__}")
