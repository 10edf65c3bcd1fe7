"""Server frames as WebSocket bytes, built once and written as they are to every reader.

A server's frames are not masked (RFC 6455 5.1), so a `message` going to 500 readers is the
same bytes for each of them: the hub builds the whole frame (header and JSON) once per event
and language, and each session hands those bytes to its socket. Frames are never compressed
this way; with permessage-deflate negotiated an uncompressed frame is still valid (RFC 7692 6).
"""

from __future__ import annotations

FIN_TEXT = 0x81


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame carrying `payload` (UTF-8 JSON)."""
    size = len(payload)
    if size < 126:
        return bytes((FIN_TEXT, size)) + payload
    if size < 65536:
        return bytes((FIN_TEXT, 126)) + size.to_bytes(2, "big") + payload
    return bytes((FIN_TEXT, 127)) + size.to_bytes(8, "big") + payload


def payload_of(frame: bytes) -> bytes:
    """The JSON a frame made by `text_frame` carries."""
    size = frame[1] & 0x7F
    return frame[2:] if size < 126 else frame[4:] if size == 126 else frame[10:]
