"""Alembic migrations of the SQL schema (:mod:`trainaction.backend.store`); applied by :mod:`..migrate`."""
