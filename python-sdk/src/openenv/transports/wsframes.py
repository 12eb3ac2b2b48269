"""RFC 6455 framing, sans-I/O: read a peer's frames, write our own.

`FrameReader.feed(data)` turns received bytes into whole messages and control frames, in order.
It enforces what the receiving side must (RFC 6455 §5): reserved bits clear (no extensions are
negotiated), frames masked exactly when they come from a client, known opcodes, control frames
short and unfragmented, continuations only inside a fragmented message, and a message size limit
checked from the frame headers — an oversized message is refused before its payload is buffered.
Incomplete frames are kept as a list of chunks and joined once, when complete, so a large message
costs one copy. UTF-8 validity of text messages is the caller's check (it decodes them anyway).
The server reads with `FrameReader(limit)` and writes `frame()`; the sync client reads with
`FrameReader(limit, masked=False)` and writes `masked_frame()`.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

try:
    from websockets.speedups import apply_mask  # websockets' C extension
except ImportError:  # pragma: no cover — pure-Python builds of websockets
    from websockets.utils import apply_mask

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
MESSAGE_TOO_BIG = 1009

_VALID_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


@dataclass(frozen=True, slots=True)
class FrameFault:
    """Why the connection must be failed: close `code` with `reason`; `size` for an oversized message."""

    code: int
    reason: str
    size: int = 0


class FrameReader:
    """Parses the byte stream one peer sends: a client's (`masked`, the server's reader) or a
    server's (`masked=False`, the client's reader)."""

    __slots__ = ("_chunks", "_have", "_need", "_part_op", "_part_size", "_parts", "fault", "masked", "max_size")

    def __init__(self, max_size: int, *, masked: bool = True) -> None:
        self.max_size = max_size
        """Largest message (after reassembly) accepted, in bytes."""
        self.masked = masked
        """Whether frames must be masked (client to server) or must not be (server to client)."""
        self.fault: FrameFault | None = None
        """Set once the stream broke the protocol; `feed` returns nothing from then on."""
        self._chunks: list[bytes] = []
        self._have = 0
        self._need = 2
        self._part_op = 0
        self._parts: list[bytes] = []
        self._part_size = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The complete messages and control frames in `data` (plus what came before), as
        `(opcode, payload)`; a fragmented message comes out once, under its first frame's opcode.
        Check `fault` afterwards: the events before a violation are still returned."""
        if self.fault is not None:
            return []
        masked = self.masked
        if not self._chunks and not self._part_op and len(data) >= 2:  # the usual: one whole small frame
            b0 = data[0]
            b1 = data[1]
            if b0 == 0x81 or b0 == 0x82:  # FIN + text/binary, a 7-bit length, ending exactly here
                if masked:
                    if 0x80 < b1 < 0xFE and len(data) == b1 - 122 and b1 - 0x80 <= self.max_size:
                        return [(b0 & 0x0F, apply_mask(data[6:], data[2:6]))]
                elif b1 < 126 and len(data) == b1 + 2 and b1 <= self.max_size:
                    return [(b0 & 0x0F, data[2:])]
        if self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return []
            data = b"".join(self._chunks)
            self._chunks = []
        events: list[tuple[int, bytes]] = []
        view = memoryview(data)
        end = len(data)
        pos = 0
        while end - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            if b0 & 0x70:
                return self._fail(events, PROTOCOL_ERROR, "reserved bits must be 0")
            if bool(b1 & 0x80) is not masked:
                reason = "client frames must be masked" if masked else "server frames must not be masked"
                return self._fail(events, PROTOCOL_ERROR, reason)
            opcode = b0 & 0x0F
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if end - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                head = 4
            elif length == 127:
                if end - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                if length >> 63:
                    return self._fail(events, PROTOCOL_ERROR, "payload length must fit 63 bits")
                head = 10
            if masked:
                head += 4
            if opcode & 0x8:
                if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
                    return self._fail(events, PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
                if not b0 & 0x80:
                    return self._fail(events, PROTOCOL_ERROR, "control frames must not be fragmented")
                if length > 125:
                    return self._fail(events, PROTOCOL_ERROR, "control frame payload over 125 bytes")
            else:
                if opcode > OP_BINARY:
                    return self._fail(events, PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
                if opcode == OP_CONT:
                    if not self._part_op:
                        return self._fail(events, PROTOCOL_ERROR, "continuation frame outside a message")
                elif self._part_op:
                    return self._fail(events, PROTOCOL_ERROR, "new message before the last one finished")
                size = self._part_size + length
                if size > self.max_size:
                    self.fault = FrameFault(MESSAGE_TOO_BIG, "message too big", size)
                    return events
            frame_end = pos + head + length
            if frame_end > end:
                break
            if masked:
                payload = apply_mask(view[pos + head : frame_end], data[pos + head - 4 : pos + head])
            else:
                payload = bytes(view[pos + head : frame_end])
            pos = frame_end
            if opcode & 0x8 or (b0 & 0x80 and opcode != OP_CONT):
                events.append((opcode, payload))
            elif opcode != OP_CONT:  # first fragment
                self._part_op, self._parts, self._part_size = opcode, [payload], length
            else:
                self._parts.append(payload)
                self._part_size += length
                if b0 & 0x80:
                    events.append((self._part_op, b"".join(self._parts)))
                    self._part_op, self._parts, self._part_size = 0, [], 0
        if pos < end:
            rest = data[pos:]
            self._chunks = [rest]
            self._have = len(rest)
            self._need = _frame_size(rest, masked)
        return events

    def _fail(self, events: list[tuple[int, bytes]], code: int, reason: str) -> list[tuple[int, bytes]]:
        self.fault = FrameFault(code, reason)
        self._chunks = []
        return events


def _frame_size(prefix: bytes, masked: bool) -> int:
    """Bytes needed before the frame starting with `prefix` can be parsed (a lower bound until the
    length field is complete)."""
    if len(prefix) < 2:
        return 2
    key = 4 if masked else 0
    length = prefix[1] & 0x7F
    if length == 126:
        return 4 if len(prefix) < 4 else 4 + key + int.from_bytes(prefix[2:4], "big")
    if length == 127:
        return 10 if len(prefix) < 10 else 10 + key + int.from_bytes(prefix[2:10], "big")
    return 2 + key + length


def frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final server frame."""
    length = len(payload)
    if length < 126:
        return bytes((0x80 | opcode, length)) + payload
    if length < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, length) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, length) + payload


def close_frame(code: int | None, reason: str = "") -> bytes:
    """A close frame (`code` None: no status, empty payload); the reason is cut to fit 123 bytes."""
    if code is None:
        return frame(OP_CLOSE, b"")
    data = reason.encode()[:123]
    while True:  # never cut inside a UTF-8 sequence
        try:
            data.decode()
            break
        except UnicodeDecodeError:
            data = data[:-1]
    return frame(OP_CLOSE, code.to_bytes(2, "big") + data)


def parse_close(payload: bytes) -> FrameFault | tuple[int | None, str]:
    """A received close frame's `(code, reason)` (None: no status), or why it is invalid."""
    if not payload:
        return None, ""
    if len(payload) == 1:
        return FrameFault(PROTOCOL_ERROR, "close frame with a 1-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if code not in _VALID_CLOSE_CODES and not 3000 <= code <= 4999:
        return FrameFault(PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        return FrameFault(INVALID_DATA, "close reason is not UTF-8")
    return code, reason


class MaskKeys:
    """Masking keys for one client connection (RFC 6455 §5.3: from a strong entropy source),
    drawn from `os.urandom` 4 KiB at a time rather than one system call per frame."""

    __slots__ = ("_pool", "_pos")

    def __init__(self) -> None:
        self._pool = b""
        self._pos = 0

    def next(self) -> bytes:
        pos = self._pos
        if pos >= len(self._pool):
            self._pool, pos = os.urandom(4096), 0
        self._pos = pos + 4
        return self._pool[pos : pos + 4]


def masked_frame(opcode: int, payload: bytes, key: bytes) -> bytes:
    """One final client frame, masked with the 4-byte `key`."""
    length = len(payload)
    if length < 126:
        head = bytes((0x80 | opcode, 0x80 | length))
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0xFE, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0xFF, length)
    return head + key + apply_mask(payload, key)
