"""Listings: their schema, what a caller may send, the stores, the feed client, collection,
cleaning, and the synthetic generator (whose tables, calibration.json and states.csv, sit
beside it; see README.md)."""
