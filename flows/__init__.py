"""Prefect flows: thin wrappers adding retries, concurrency and schedules."""
