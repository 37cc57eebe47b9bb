"""The one exception type a user sees: a sentence that says what went wrong and what to do."""


class DcganError(Exception):
    """A user-facing error. The CLI prints ``error: <message>`` and exits with code 2, no traceback."""
