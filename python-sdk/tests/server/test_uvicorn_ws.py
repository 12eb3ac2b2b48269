"""`/ws` framing on the direct path (`OpenEnvWebSocketProtocol`), spoken byte by byte over a raw
loopback socket: fragments, control frames, protocol violations, size limits, backpressure — and
the same session logic over plain ASGI (`SessionRunner`) under uvicorn's stock protocol."""

from __future__ import annotations

import base64
import os
import socket
import struct
import time

import orjson
import pytest
from openenv.server import create_app
from openenv.server.background import BackgroundServer
from openenv.server.uvicorn_ws import HIGH_WATER

from tests.conftest import Serve
from tests.envs import EchoEnv, LineEnv
from tests.wire import Peer

STEP = {"type": "step", "data": {"direction": "right", "amount": 1}}


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head = bytes((first, mask_bit | length))
    elif length < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    masked_payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked_payload


class RawPeer:
    """A WebSocket client made of a socket and RFC 6455 by hand."""

    def __init__(self, server: BackgroundServer, *, v1: bool = False, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect((server.host, server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        protocol = "Sec-WebSocket-Protocol: openenv.v1\r\n" if v1 else ""
        self.sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {server.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{protocol}\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.hello = self.read_json() if v1 else None

    def _need(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_frame(self) -> tuple[int, bytes]:
        b0, b1 = self._need(2)
        assert not b1 & 0x80, "server frames are unmasked"
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._need(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._need(8))
        return b0 & 0x0F, self._need(length)

    def read_json(self) -> dict:
        opcode, payload = self.read_frame()
        assert opcode == 1, (opcode, payload)
        return orjson.loads(payload)

    def read_close(self) -> int | None:
        """Read until the close frame; its code (None when it has no payload)."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == 8:
                return struct.unpack("!H", payload[:2])[0] if payload else None

    def at_eof(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def ask(self, frame: dict) -> dict:
        self.send(client_frame(1, orjson.dumps(frame)))
        return self.read_json()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def line() -> BackgroundServer:
    with BackgroundServer(create_app(LineEnv, name="line_env", max_sessions=8, max_message_bytes=4096)) as server:
        yield server


def test_fragmented_message_with_a_ping_in_between(line: BackgroundServer) -> None:
    peer = RawPeer(line)
    text = orjson.dumps({"type": "reset", "data": {"seed": 3}})
    peer.send(client_frame(1, text[:5], fin=False) + client_frame(9, b"ping!") + client_frame(0, text[5:9], fin=False))
    assert peer.read_frame() == (10, b"ping!")  # the pong comes before the message completes
    peer.send(client_frame(0, text[9:]))
    assert peer.read_json()["data"]["observation"]["position"] == 0
    assert peer.ask(STEP)["data"]["observation"]["position"] == 1
    peer.close()


def test_frames_split_across_reads(line: BackgroundServer) -> None:
    peer = RawPeer(line)
    data = client_frame(1, orjson.dumps({"type": "reset"})) + client_frame(1, orjson.dumps(STEP))
    for i in range(len(data)):
        peer.send(data[i : i + 1])
        time.sleep(0.001)
    assert peer.read_json()["data"]["observation"]["position"] == 0
    assert peer.read_json()["data"]["observation"]["position"] == 1
    peer.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (client_frame(1, b'{"type":"reset"}', masked=False), 1002),  # unmasked client frame
        (bytes((0xC1, 0x80)) + b"\0\0\0\0", 1002),  # RSV1 without an extension
        (client_frame(3, b"x"), 1002),  # reserved opcode
        (client_frame(9, b"x" * 126), 1002),  # control frame too long
        (client_frame(0, b"x"), 1002),  # continuation outside a message
        (client_frame(1, b'{"type":"reset","x":"\xff"}'), 1007),  # invalid UTF-8
        (client_frame(8, b"\x03\xed"), 1002),  # close code 1005 may not be sent
    ],
)
def test_protocol_violations_close_the_connection_with_their_code(
    line: BackgroundServer, frame: bytes, code: int
) -> None:
    peer = RawPeer(line)
    assert peer.ask({"type": "reset"})["type"] == "observation"
    peer.send(frame)
    assert peer.read_close() == code
    assert peer.at_eof()
    peer.close()


@pytest.mark.parametrize("v1", [False, True])
def test_oversized_message_is_refused_from_its_header(line: BackgroundServer, v1: bool) -> None:
    peer = RawPeer(line, v1=v1)
    peer.send(struct.pack("!BBQ", 0x81, 0x80 | 127, 10**9) + os.urandom(4))  # 1 GB announced, none sent
    if v1:
        error = peer.read_json()
        assert error["type"] == "error" and error["data"]["code"] == "MESSAGE_TOO_LARGE"
        assert "1000000000 bytes" in error["data"]["message"]
    assert peer.read_close() == 1009
    peer.close()


def test_client_close_is_echoed_and_frees_the_slot(serve: Serve) -> None:
    server = serve(LineEnv, max_sessions=1)
    for _ in range(3):  # with one slot, each connection can only open after the last one is gone
        peer = RawPeer(server)
        assert peer.ask({"type": "reset"})["type"] == "observation"
        peer.send(client_frame(8, struct.pack("!H", 4000) + b"done"))
        assert peer.read_close() == 4000
        assert peer.at_eof()
        peer.close()
        deadline = time.monotonic() + 5
        while server.app.service.capacity.active and time.monotonic() < deadline:
            time.sleep(0.01)
    assert server.app.service.capacity.active == 0


def test_pipelined_requests_beyond_the_backlog_high_water_mark_are_all_answered_in_order(
    line: BackgroundServer,
) -> None:
    peer = RawPeer(line, v1=True)
    count = 10 * HIGH_WATER
    still = {"type": "step", "data": {"direction": "right", "amount": 0}}
    frames = [client_frame(1, orjson.dumps({"type": "reset", "id": 0}))]
    frames += [client_frame(1, orjson.dumps({**still, "id": i})) for i in range(1, count)]
    peer.send(b"".join(frames))
    replies = [peer.read_json() for _ in range(count)]
    assert [r["id"] for r in replies] == list(range(count))
    # reset + 20 steps (the test env truncates at 20), then every step is refused: in order
    assert [r["type"] for r in replies] == ["observation"] * 21 + ["error"] * (count - 21)
    assert replies[20]["data"]["truncated"] and replies[21]["data"]["code"] == "EPISODE_ENDED"
    peer.close()


def test_a_peer_that_stops_reading_is_stopped_from_sending(serve: Serve) -> None:
    """Replies pile up unread: the server stops reading the connection, so the peer's sends
    block — memory stays bounded by socket buffers, not by what the peer sends."""
    server = serve(EchoEnv, max_message_bytes=1 << 20)
    peer = RawPeer(server, rcvbuf=16384)
    message = "m" * 60_000
    step = {
        "type": "step",
        "data": {"type": "call_tool", "tool_name": "echo_message", "arguments": {"message": message}},
    }
    frame = client_frame(1, orjson.dumps(step))
    peer.sock.setblocking(False)
    pending, sent, blocked = b"", 0, False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sent < 400 * len(frame):
        pending = pending or frame
        try:
            n = peer.sock.send(pending)
        except BlockingIOError:
            time.sleep(0.2)  # give the server every chance to read on
            try:
                n = peer.sock.send(pending)
            except BlockingIOError:
                blocked = True
                break
        sent += n
        pending = pending[n:]
    assert blocked, f"the server kept reading: {sent} bytes accepted"
    peer.close()
    with Peer(server.ws_url) as other:  # the server is fine
        assert other.ask({"type": "reset"})["type"] == "observation"


def test_the_same_session_logic_over_stock_uvicorn_asgi() -> None:
    app = create_app(LineEnv, name="line_env")
    with BackgroundServer(app, ws="websockets-sansio") as server, Peer(server.ws_url, v1=True) as peer:
        assert peer.hello is not None and peer.hello["type"] == "session"
        assert peer.ask({"type": "step", "id": 1, **{"data": STEP["data"]}})["data"]["code"] == "EPISODE_NOT_STARTED"
        assert peer.ask({"type": "reset", "id": 2})["id"] == 2
        assert peer.ask({**STEP, "id": 3})["data"]["observation"]["position"] == 1
        peer.send({"type": "close"})
        assert peer.closed_with() == 1000
