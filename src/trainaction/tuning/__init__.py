"""Tuning mode on Ray Tune: search-space compilation, searchers, schedulers, trials, the engine.

Importing this package does not import Ray; the modules that need it import it themselves.
"""
