"""Gates: enough clean rows and enough feed rows to train on."""


def gates(min_clean_rows: int, min_teacher_share: float, pipeline_run: str, job_id: str) -> bool:
    """Whether the data gates let the run go on; a negative threshold means the setting's."""
    from homeval.platform.settings import Settings
    from homeval.workflow.steps import configure_logging, data_gates_step

    configure_logging()
    decision = data_gates_step(
        Settings(),
        min_clean_rows=min_clean_rows,
        min_teacher_share=min_teacher_share,
        pipeline_run=pipeline_run or job_id,
    )
    return decision.passed
