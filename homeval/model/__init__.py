"""The model: features from a listing, the estimator, training, the interval, pricing and
explanation at serving time (the compiled tree evaluator)."""
