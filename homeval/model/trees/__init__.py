"""Tree ensembles flattened into arrays and evaluated by compiled loops: prices and TreeSHAP.

Why not call the library?  At serving sizes its per-call overhead is most of the cost
(LightGBM spends ~150 µs to score one row through its Python wrapper, and ~15 ms to
explain it with ``pred_contrib`` because its trees are deep), while the trees themselves
are a few thousand comparisons.  Here a LightGBM booster or a scikit-learn decision tree
becomes one set of node arrays; ``predict`` walks them in a numba loop (the same
comparisons, the same summation order, so the same numbers as the library), and
``shap`` computes exact path-dependent TreeSHAP per leaf path: each path's unique
features with their zero fractions (products of cover ratios) are precomputed, and for a
row only the "one fractions" (does the row follow this path's splits?) change, so the
Shapley sums reduce to a small polynomial per path instead of TreeSHAP's recursion.

Features may be grouped into players (``players=``): a group is then one player of the
game, the way a person who typed one field sees the several features made of it (the
ZIP's coordinates, county and neighbour levels).  On a path, a group's splits merge like
a feature split twice: the zero fractions multiply and the row follows the group only if
it follows all its splits.  That is exact Shapley over the groups, not the sum of the
features' values, and cheaper: a path's cost grows with the square of its distinct
players.

Nothing here imports LightGBM or scikit-learn at module level: builders take the fitted
objects and read their public dumps.

The modules: ``forest`` (the ``Forest`` a caller prices and explains with), ``flatten``
(``from_lightgbm``, ``from_sklearn_tree``, ``from_regressor``), ``builder`` (nodes into a
Forest's arrays), ``loops`` (the numba-compiled loops), ``threads`` (one call shared among
threads) and ``precompile`` (``compile_ahead``: numba's cache for an image).
"""
