"""The one exception the commands raise, and the exit codes."""

# Exit codes (documented in ``iacp --help``).
OK = 0
FAILED = 1  # an error: the API refused, the platform could not be reached, a run errored
USAGE = 2  # wrong arguments (argparse's own code)
STOPPED_BY_TASK = 3  # a watched run stopped at a run-task stage and waits for an override
CANCELED = 4  # a watched run ended canceled or force_canceled
INTERRUPTED = 130  # Ctrl-C


class CliError(Exception):
    """A failure to report as one ``error: ...`` line on standard error."""

    def __init__(
        self,
        message: str,
        exit_code: int = FAILED,
        status: int | None = None,
        hint: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.status = status  # the HTTP status, when the API answered
        self.hint = hint  # what to do next, a line of its own after the error
