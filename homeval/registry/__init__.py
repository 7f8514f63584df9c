"""MLflow: where runs are tracked, how a model is logged and loaded, and which version serves."""
