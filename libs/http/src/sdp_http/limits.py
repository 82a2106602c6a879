"""The request body limit: a larger body is a 413 in the error envelope before it is parsed."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdp_http.errors import PayloadTooLarge
from sdp_http.handlers import error_response

__all__ = ["BodyLimit"]


class BodyLimit:
    """ASGI middleware reading the whole body, at most `max_bytes` of it, before the app runs.

    A declared Content-Length over the limit is refused unread; a chunked body is counted as it
    arrives and refused at the first chunk past the limit. The app gets the body it would have.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left mid-body: the app sees it leave.
                first = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return first

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(
            f"request body exceeds {self.max_bytes} bytes",
            [("body", f"exceeds {self.max_bytes} bytes")],
        )
        response = error_response(error.status_code, error.code, error.message, error.fields)
        # The rest of the body is never read, so the connection cannot carry another request.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
