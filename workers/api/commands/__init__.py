"""Configuration commands the API routes and the admin CLI share: each writes its rows and one
``config_audit`` row in the caller's unit of work; the caller commits."""


class CommandError(ValueError):
    """A command refused its input: ``field`` names what to fix, ``status`` is the HTTP answer
    the API gives (the CLI prints the message)."""

    field = "body"
    status = 422
