"""Errors a person starting the monitor can act on: one line saying what is
wrong and one line saying what to do. The command line prints them as they are,
without a traceback."""


class StartupError(Exception):
    """The monitor cannot start: `message` says why, `hint` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        return [f"error: {self.message}"] + ([f"hint: {self.hint}"] if self.hint else [])
