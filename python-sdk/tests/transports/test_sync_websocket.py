"""`transports.sync_websocket` against a scripted raw-socket server: what arrives with the 101,
pings, the server's close, protocol violations, refusals — every byte checked on both sides."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from openenv.transports.sync_websocket import SyncWebSocket
from openenv.transports.wsframes import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameReader, frame, masked_frame
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
Script = Callable[[socket.socket, FrameReader], None]


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    return data


def accept_response(request: bytes, extra: str = "") -> bytes:
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n" + extra.encode() + b"\r\n"
    )


_PENDING: dict[int, list[tuple[int, bytes]]] = {}


def next_frame(conn: socket.socket, reader: FrameReader) -> tuple[int, bytes]:
    """The next frame the client sent (several may arrive in one read)."""
    pending = _PENDING.setdefault(id(reader), [])
    while not pending:
        pending.extend(reader.feed(conn.recv(4096)))
    return pending.pop(0)


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], str]]:
    """Serve one connection with `script(conn, reader)` after reading the request; its URL."""
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []

    def start(script: Script) -> str:
        listener = socket.create_server(("127.0.0.1", 0))

        def run() -> None:
            try:
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(5)
                    script(conn, FrameReader(1 << 20))  # client frames must be masked
            except BaseException as exc:  # reported by the fixture
                errors.append(exc)
            finally:
                listener.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        return f"ws://127.0.0.1:{listener.getsockname()[1]}/ws"

    yield start
    for thread in threads:
        thread.join(5)
    if errors:
        raise errors[0]


def test_frames_sent_with_the_101_ping_pong_and_the_servers_close(scripted) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        request = read_request(conn)
        assert b"Sec-WebSocket-Protocol: openenv.v1" in request
        conn.sendall(
            accept_response(request, "Sec-WebSocket-Protocol: openenv.v1\r\n")
            + frame(OP_TEXT, b'{"hello":1}')
            + frame(OP_PING, b"are you there")
        )
        assert next_frame(conn, reader) == (OP_PONG, b"are you there")
        assert next_frame(conn, reader) == (OP_TEXT, b"question")
        conn.sendall(frame(OP_TEXT, "réponse".encode()) + frame(OP_CLOSE, (1001).to_bytes(2, "big") + b"bye"))
        assert next_frame(conn, reader) == (OP_CLOSE, (1001).to_bytes(2, "big"))  # the status echoed

    ws = SyncWebSocket.connect(scripted(script), subprotocols=["openenv.v1"], open_timeout=5)
    assert ws.subprotocol == "openenv.v1"
    assert ws.recv(timeout=5) == '{"hello":1}'
    ws.send("question")
    assert ws.recv(timeout=5) == "réponse"  # delivered before the close is reported
    with pytest.raises(ConnectionClosedOK) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "bye")
    assert closed.value.rcvd_then_sent is True
    with pytest.raises(ConnectionClosedOK):
        ws.send("too late")
    ws.close()


def test_client_close_handshake(scripted) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        opcode, payload = next_frame(conn, reader)
        assert (opcode, payload) == (OP_CLOSE, (1000).to_bytes(2, "big"))
        conn.sendall(frame(OP_CLOSE, payload))

    ws = SyncWebSocket.connect(scripted(script), open_timeout=5)
    ws.close(timeout=5)
    with pytest.raises(ConnectionClosedOK) as closed:
        ws.recv(timeout=1)
    assert closed.value.sent is not None and closed.value.sent.code == 1000
    assert closed.value.rcvd is not None and closed.value.rcvd_then_sent is False


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (masked_frame(OP_TEXT, b"masked", b"abcd"), 1002),
        (frame(OP_TEXT, b"\xff\xfe"), 1007),
        (frame(OP_CLOSE, b"\x03"), 1002),
        (frame(OP_TEXT, b"x" * 2000), 1009),
    ],
)
def test_protocol_violations_by_the_server_close_with_their_code(scripted, bad: bytes, code: int) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)) + frame(OP_TEXT, b"fine") + bad)
        opcode, payload = next_frame(conn, reader)
        assert opcode == OP_CLOSE and int.from_bytes(payload[:2], "big") == code

    ws = SyncWebSocket.connect(scripted(script), open_timeout=5, max_size=1000)
    assert ws.recv(timeout=5) == "fine"
    with pytest.raises(ConnectionClosedError) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is None and closed.value.sent is not None and closed.value.sent.code == code
    ws.close()


def test_refused_upgrade_keeps_status_and_body(scripted) -> None:
    body = b'{"type":"error","data":{"code":"CAPACITY_REACHED","message":"full"}}'

    def script(conn: socket.socket, reader: FrameReader) -> None:
        read_request(conn)
        head = f"HTTP/1.1 503 Service Unavailable\r\nContent-Length: {len(body)}\r\nRetry-After: 1\r\n\r\n"
        conn.sendall(head.encode() + body[:10])
        conn.sendall(body[10:])

    with pytest.raises(InvalidStatus) as refused:
        SyncWebSocket.connect(scripted(script), open_timeout=5)
    assert refused.value.response.status_code == 503 and refused.value.response.body == body


def test_timeout_and_eof(scripted) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        assert next_frame(conn, reader) == (OP_TEXT, b"ping?")
        conn.shutdown(socket.SHUT_WR)  # no close frame: the TCP stream just ends

    ws = SyncWebSocket.connect(scripted(script), open_timeout=5)
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.05)
    ws.send("ping?")
    with pytest.raises(ConnectionClosedError) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is None and closed.value.sent is None
    ws.close()


def test_a_longer_wait_after_a_short_timeout_still_gets_the_message(scripted) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        assert next_frame(conn, reader) == (OP_TEXT, b"go")
        time.sleep(0.3)  # longer than the short timeout the client armed before
        conn.sendall(frame(OP_TEXT, b"late"))
        next_frame(conn, reader)  # the client's close

    ws = SyncWebSocket.connect(scripted(script), open_timeout=5)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.05)
    assert time.monotonic() - started < 1.0
    ws.send("go")
    assert ws.recv(timeout=5) == "late"
    ws.close()


def test_send_to_a_server_that_stopped_reading_times_out(scripted) -> None:
    release = threading.Event()

    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        release.wait(10)  # never reads until the client gave up

    ws = SyncWebSocket.connect(scripted(script), open_timeout=0.5)
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        for _ in range(10_000):
            ws.send("x" * 60_000)
    assert time.monotonic() - started < 5
    release.set()
    ws.sock.close()
