"""The coi command line and settings."""
