# Stand-in for apache/airflow:<version>-python3.11 where no registry can be reached: the
# Python stand-in shaped the way pipelines/dags/Dockerfile relies on the official image —
# the airflow user (uid 50000, group root), AIRFLOW_HOME=/opt/airflow, `pip install`
# as that user into ~/.local. Airflow itself comes from the homeval Dockerfile's own
# pinned install (it names apache-airflow==<version> beside its lock).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home \
        --shell /bin/bash airflow \
    && mkdir -p /opt/airflow \
    && chown airflow:root /opt/airflow
ENV AIRFLOW_HOME=/opt/airflow \
    PIP_USER=true \
    PATH=/home/airflow/.local/bin:/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin
WORKDIR /opt/airflow
USER 50000
CMD ["airflow", "version"]
