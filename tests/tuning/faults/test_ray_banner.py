"""Ray's banners and warnings go to the job log, not over the live view."""

from __future__ import annotations

import logging

from trainaction.tuning.raylog import ray_logs_to


def test_ray_warnings_reach_the_job_log_even_after_ray_init_clears_its_handlers(capsys):
    ray_logger = logging.getLogger("ray")
    before, propagate = list(ray_logger.handlers), ray_logger.propagate  # Ray's own, if imported already
    terminal = logging.StreamHandler()  # what Ray sets up at import: the terminal
    ray_logger.addHandler(terminal)
    ray_logger.propagate = False
    lines: list[str] = []
    restore = ray_logs_to(lines.append)
    try:
        ray_logger.handlers.clear()  # what ray.init(configure_logging=False) does, then it warns
        logging.getLogger("ray._private.authentication.authentication_token_setup").warning(
            "Token authentication is enabled for this Ray cluster."
        )
        logging.getLogger("ray.util.other").warning("a later warning")
        logging.getLogger("ray.tune.search").warning("ray.tune has its own forwarder")
    finally:
        restore()
        terminal_back = terminal in ray_logger.handlers
        ray_logger.handlers[:] = before  # what the test itself cleared
        ray_logger.propagate = propagate

    assert lines == [
        "[ray warning] Token authentication is enabled for this Ray cluster.\n",
        "[ray warning] a later warning\n",
    ]
    assert capsys.readouterr().err == ""
    assert terminal_back  # the terminal's handler is put back
    logging.getLogger("ray.util.other").warning("after the job")
    assert len(lines) == 2  # and the job log's is gone
