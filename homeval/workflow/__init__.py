"""The pipeline's steps and gates as plain functions: what each KFP component runs, minus KFP."""
