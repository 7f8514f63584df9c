"""Running the platform on one machine: processes, their ports and the local services."""
