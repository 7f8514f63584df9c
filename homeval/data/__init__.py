"""Tables the synthetic-data generator reads: states and their cities with real ZIP prefixes."""
