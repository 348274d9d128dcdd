"""Domain errors shared by every service.

Domain logic raises these; each API renders them in its own service's error body
(identity, compute, network... differ), so the classes carry a status code and a
title but nothing HTTP-shaped beyond that.
"""


class NimbusError(Exception):
    """Base of every error a client may see; `code` is the HTTP status it maps to.

    `error_code` is an optional machine-readable symbol for services whose error bodies
    carry one (placement's ``placement.concurrent_update``), so that clients can tell
    apart errors that share a status; services without such codes ignore it.
    """

    code = 500
    title = "Internal Server Error"
    error_code: str | None = None

    def __init__(self, message: str = "", *, error_code: str | None = None) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        if error_code is not None:
            self.error_code = error_code


class BadRequest(NimbusError):
    code = 400
    title = "Bad Request"


class Unauthorized(NimbusError):
    code = 401
    title = "Unauthorized"

    def __init__(self, message: str = "The request you have made requires authentication.") -> None:
        super().__init__(message)


class Forbidden(NimbusError):
    code = 403
    title = "Forbidden"


class NotFound(NimbusError):
    code = 404
    title = "Not Found"


class MethodNotAllowed(NimbusError):
    code = 405
    title = "Method Not Allowed"


class NotAcceptable(NimbusError):
    code = 406
    title = "Not Acceptable"


class Conflict(NimbusError):
    code = 409
    title = "Conflict"


class PayloadTooLarge(NimbusError):
    code = 413
    title = "Request Entity Too Large"


class UnsupportedMediaType(NimbusError):
    code = 415
    title = "Unsupported Media Type"


class NotSupported(NimbusError):
    """A documented call this cloud does not provide (yet); upstream's 501."""

    code = 501
    title = "Not Implemented"
