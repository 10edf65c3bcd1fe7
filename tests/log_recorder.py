"""A recorder of the node's log, for tests that a client never causes a traceback."""

from __future__ import annotations

import logging

LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.asgi", "babelroom")


class LogRecorder(logging.Handler):
    """Every record the node's loggers emit while installed (uvicorn's loggers do not propagate)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._saved: list[tuple[logging.Logger, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def install(self) -> LogRecorder:
        for name in LOGGERS:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.level))
            logger.addHandler(self)
            if logger.level == logging.NOTSET or logger.level > logging.INFO:
                logger.setLevel(logging.INFO)
        return self

    def uninstall(self) -> None:
        for logger, level in self._saved:
            logger.removeHandler(self)
            logger.setLevel(level)

    def tracebacks(self) -> list[str]:
        """Records with a traceback, or at ERROR and above: what a client must never cause."""
        seen = {(r.name, r.getMessage()) for r in self.records if r.exc_info or r.levelno >= logging.ERROR}
        return sorted(f"{name}: {message[:200]}" for name, message in seen)
