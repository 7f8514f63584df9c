# Stand-in for ghcr.io/mlflow/mlflow:v<version> where no registry can be reached: the
# Python stand-in with MLflow installed by pip, as the official image is made.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG MLFLOW_VERSION
RUN pip install --no-cache-dir "mlflow==${MLFLOW_VERSION}"
CMD ["mlflow", "server", "--host", "0.0.0.0"]
