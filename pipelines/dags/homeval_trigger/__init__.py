"""What the ``homeval_pipeline`` DAG does, without Airflow: run the platform's pipeline
locally through its CLI, or submit the compiled pipeline to a KFP API and wait.

The DAG file only wires these functions into tasks, so they are tested on their own and
the DAG stays cheap to parse.  This package lives in the DAGs folder (Airflow puts that
folder on ``sys.path``) because the Airflow environment cannot install homeval itself:
Airflow 3 and kserve do not fit in one virtualenv.  What the DAG and the platform must
agree on (the KFP submit/wait/terminate loop, the run-decisions fold, the thresholds'
names and bounds, the ``pipeline run --json`` result) is not copied here: it is the
``homeval_contract`` package (packages/contract), installed in both environments.
"""
