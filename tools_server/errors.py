"""Every failure becomes a JSON answer ``{"error", "message"}`` with a 4xx status; never a stack trace."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from domain.errors import (
    CallClosed,
    ConcurrentUpdate,
    DependencyUnavailable,
    DomainError,
    InvalidRequest,
    NotAllowed,
    NotAuthorized,
    NotFound,
    QuotaExceeded,
    SlotConflict,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS: list[tuple[type[DomainError], int]] = [
    (NotAuthorized, 401),
    (NotFound, 404),
    (QuotaExceeded, 429),
    (NotAllowed, 409),
    (CallClosed, 409),
    (SlotConflict, 409),
    (ConcurrentUpdate, 409),
    (InvalidRequest, 400),
    (DependencyUnavailable, 503),
]


class InvalidJson(InvalidRequest):
    """The body is not JSON at all."""

    code = "invalid_json"


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def _status_of(error: DomainError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


def validation_message(error: ValidationError) -> str:
    """The first few problems pydantic found, in a sentence."""
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        if problem["type"] == "extra_forbidden":
            parts.append(f"'{where}' is not a field this tool takes")
        elif problem["type"] == "missing":
            parts.append(f"'{where}' is required")
        else:
            parts.append(f"'{where}': {problem['msg'].lower()}")
    return "The request is not valid: " + "; ".join(parts) + "."


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn domain errors, bad JSON and aiohttp's own HTTP errors into JSON answers."""
    try:
        return await handler(request)
    except DomainError as exc:
        return error_response(_status_of(exc), exc.code, str(exc))
    except ValidationError as exc:
        return error_response(422, "invalid_request", validation_message(exc))
    except json.JSONDecodeError:
        return error_response(400, "invalid_json", "The body is not valid JSON.")
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "too_large", "The request body is too large.")
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_response(exc.status, exc.reason.lower().replace(" ", "_"), f"{exc.reason}.")
        raise
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on our side; please try again.")
