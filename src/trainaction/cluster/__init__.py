"""Running jobs on an existing Ray cluster: submission through the Ray Jobs API, the job's driver,
and the path by which trials on other nodes reach the backend without the driver's folders."""

from __future__ import annotations

__all__: list[str] = []
