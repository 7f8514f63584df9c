"""What the homeval platform and its Airflow DAG agree on, written once.

* ``kfp_run``: submit the compiled pipeline to a KFP API, wait, terminate at the deadline;
* ``decisions``: what one run decided, folded from its ``trainlogs`` rows;
* ``thresholds``: the gates a run may override (names, variables, kinds, bounds);
* ``result``: the ``homeval pipeline run --json`` result line.

Standard library only at import time (``kfp_run`` imports kfp inside its functions), and
never homeval: the DAG's environment installs this package but cannot install homeval.
"""
