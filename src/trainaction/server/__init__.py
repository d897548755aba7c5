"""The team server: a REST API over the embedded backend's storage code."""
