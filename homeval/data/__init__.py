"""Tables the synthetic-data generator reads: calibration.json (from the national sample) and
states.csv (priors of the calibration script); see README.md."""
