"""The one error type users see: a message written for humans, turned into exit code 2 by the CLI."""


class FaithlabError(ValueError):
    """Bad input or configuration; the message says what is wrong and what to do."""
