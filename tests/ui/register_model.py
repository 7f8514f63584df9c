"""Fit a small model on the real rows and register it as production (run as a module by the
UI tests' fixture, in the environment of the platform it builds); prints the version."""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient

from homeval.model.estimator import conformal_interval, price_metrics
from homeval.platform.settings import Settings
from homeval.registry.packaging import log_price_model
from homeval.registry.tracking import configure
from tests.conftest import realtor_csvs
from tests.homeval.helpers import real_listings, small_model


def main() -> None:
    listings = real_listings(realtor_csvs())
    settings = Settings()
    configure(settings)
    model = small_model(listings)
    predicted = model.predict(listings)
    interval = conformal_interval(listings["price"], predicted, 0.9)
    with mlflow.start_run():
        mlflow.log_param("kind", "lightgbm")
        mlflow.log_metrics(price_metrics(listings["price"], predicted))
        info = log_price_model(model, kind="lightgbm", interval=interval, input_example=listings)
    version = mlflow.register_model(info.model_uri, settings.model_name)
    MlflowClient().set_registered_model_alias(settings.model_name, "production", version.version)
    print(version.version)


if __name__ == "__main__":
    main()
