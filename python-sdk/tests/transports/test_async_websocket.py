"""`transports.async_websocket` against a scripted raw-socket server: what arrives with the 101,
pings, the server's close, protocol violations, refusals, deadlines and back-pressure — every byte
checked on both sides (the scripted server helpers are the sync transport's test's)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from openenv.transports.async_websocket import AsyncWebSocket
from openenv.transports.wsframes import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameReader, frame, masked_frame
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidHandshake, InvalidStatus

from tests.transports.test_sync_websocket import accept_response, next_frame, read_request, scripted

__all__ = ["scripted"]  # the fixture, re-used


def deadline(seconds: float) -> float:
    return asyncio.get_running_loop().time() + seconds


async def test_frames_sent_with_the_101_ping_pong_and_the_servers_close(scripted) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        request = read_request(conn)
        assert b"Sec-WebSocket-Protocol: openenv.v1" in request
        assert b"X-Trainer: grpo" in request
        conn.sendall(
            accept_response(request, "Sec-WebSocket-Protocol: openenv.v1\r\n")
            + frame(OP_TEXT, b'{"hello":1}')
            + frame(OP_PING, b"are you there")
        )
        assert next_frame(conn, reader) == (OP_PONG, b"are you there")
        assert next_frame(conn, reader) == (OP_TEXT, b"question")
        conn.sendall(frame(OP_TEXT, "réponse".encode()) + frame(OP_CLOSE, (1001).to_bytes(2, "big") + b"bye"))
        assert next_frame(conn, reader) == (OP_CLOSE, (1001).to_bytes(2, "big"))  # the status echoed

    ws = await AsyncWebSocket.connect(
        scripted(script), subprotocols=["openenv.v1"], headers={"X-Trainer": "grpo"}, open_timeout=5
    )
    assert ws.subprotocol == "openenv.v1"
    assert await ws.recv(deadline(5)) == b'{"hello":1}'
    ws.send(b"question")
    assert await ws.recv(deadline(5)) == "réponse".encode()  # delivered before the close is reported
    with pytest.raises(ConnectionClosedOK) as closed:
        await ws.recv(deadline(5))
    assert closed.value.rcvd is not None and (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "bye")
    assert closed.value.rcvd_then_sent is True
    with pytest.raises(ConnectionClosedOK):
        ws.send(b"too late")
    await ws.close()


async def test_a_reply_that_arrives_in_pieces_and_several_in_one_read(scripted) -> None:
    big = b"y" * 70_000  # a 64-bit length header

    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        assert next_frame(conn, reader) == (OP_TEXT, b"go")
        data = frame(OP_TEXT, big)
        conn.sendall(data[:1])
        time.sleep(0.05)
        conn.sendall(data[1:5000])
        time.sleep(0.05)
        conn.sendall(data[5000:] + frame(OP_TEXT, b"a") + frame(OP_TEXT, b"b"))
        next_frame(conn, reader)  # the client's close

    ws = await AsyncWebSocket.connect(scripted(script), open_timeout=5)
    ws.send(b"go")
    assert await ws.recv(deadline(5)) == big
    assert await ws.recv(deadline(5)) == b"a"
    assert await ws.recv(deadline(5)) == b"b"
    await ws.close(grace_s=0.5)


async def test_client_close_handshake(scripted) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        opcode, payload = next_frame(conn, reader)
        assert (opcode, payload) == (OP_CLOSE, (1000).to_bytes(2, "big"))
        conn.sendall(frame(OP_CLOSE, payload))

    ws = await AsyncWebSocket.connect(scripted(script), open_timeout=5)
    await ws.close(grace_s=5)
    with pytest.raises(ConnectionClosedOK) as closed:
        await ws.recv(deadline(1))
    assert closed.value.sent is not None and closed.value.sent.code == 1000
    assert closed.value.rcvd is not None and closed.value.rcvd_then_sent is False


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (masked_frame(OP_TEXT, b"masked", b"abcd"), 1002),
        (frame(OP_CLOSE, b"\x03"), 1002),
        (frame(OP_TEXT, b"x" * 2000), 1009),
    ],
)
async def test_protocol_violations_by_the_server_close_with_their_code(scripted, bad: bytes, code: int) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)) + frame(OP_TEXT, b"fine") + bad)
        opcode, payload = next_frame(conn, reader)
        assert opcode == OP_CLOSE and int.from_bytes(payload[:2], "big") == code

    ws = await AsyncWebSocket.connect(scripted(script), open_timeout=5, max_size=1000)
    assert await ws.recv(deadline(5)) == b"fine"
    with pytest.raises(ConnectionClosedError) as closed:
        await ws.recv(deadline(5))
    assert closed.value.rcvd is None and closed.value.sent is not None and closed.value.sent.code == code
    await ws.close()


async def test_refused_upgrade_keeps_status_and_body(scripted) -> None:
    body = b'{"type":"error","data":{"code":"CAPACITY_REACHED","message":"full"}}'

    def script(conn: socket.socket, reader: FrameReader) -> None:
        read_request(conn)
        head = f"HTTP/1.1 503 Service Unavailable\r\nContent-Length: {len(body)}\r\nRetry-After: 1\r\n\r\n"
        conn.sendall(head.encode() + body[:10])
        time.sleep(0.05)
        conn.sendall(body[10:])

    with pytest.raises(InvalidStatus) as refused:
        await AsyncWebSocket.connect(scripted(script), open_timeout=5)
    assert refused.value.response.status_code == 503 and refused.value.response.body == body


async def test_a_peer_that_hangs_up_during_the_handshake(scripted) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 101 Switching")  # and nothing more

    with pytest.raises(InvalidHandshake):
        await AsyncWebSocket.connect(scripted(script), open_timeout=5)


async def test_a_silent_server_times_the_handshake_out(scripted) -> None:
    release = threading.Event()

    def script(conn: socket.socket, reader: FrameReader) -> None:
        read_request(conn)
        release.wait(5)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await AsyncWebSocket.connect(scripted(script), open_timeout=0.2)
    assert time.monotonic() - started < 2
    release.set()


async def test_timeout_and_eof(scripted) -> None:
    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        assert next_frame(conn, reader) == (OP_TEXT, b"ping?")
        conn.shutdown(socket.SHUT_WR)  # no close frame: the TCP stream just ends

    ws = await AsyncWebSocket.connect(scripted(script), open_timeout=5)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await ws.recv(deadline(0.05))
    assert time.monotonic() - started < 1
    ws.send(b"ping?")
    with pytest.raises(ConnectionClosedError) as closed:
        await ws.recv(deadline(5))
    assert closed.value.rcvd is None and closed.value.sent is None
    await ws.close(grace_s=0.5)


async def test_deadlines_move_with_each_request(scripted) -> None:
    """One lazily re-armed timer: a long deadline after a short one, then a short one again."""

    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        assert next_frame(conn, reader) == (OP_TEXT, b"go")
        time.sleep(0.3)  # longer than the short timeout the client armed before
        conn.sendall(frame(OP_TEXT, b"late"))
        next_frame(conn, reader)  # the client's close

    ws = await AsyncWebSocket.connect(scripted(script), open_timeout=5)
    with pytest.raises(TimeoutError):
        await ws.recv(deadline(0.05))
    ws.send(b"go")
    assert await ws.recv(deadline(5)) == b"late"  # the 5 s deadline, not the old 0.05 s timer
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await ws.recv(deadline(0.1))  # shorter than the armed 5 s: re-armed earlier
    assert time.monotonic() - started < 1
    await ws.close(grace_s=0.5)


async def test_a_server_that_stops_reading_pauses_the_writer_until_the_deadline(scripted) -> None:
    release = threading.Event()

    def script(conn: socket.socket, reader: FrameReader) -> None:
        conn.sendall(accept_response(read_request(conn)))
        release.wait(10)  # never reads until the client gave up

    ws = await AsyncWebSocket.connect(scripted(script), open_timeout=5)
    for _ in range(200):
        ws.send(b"x" * 60_000)
        if ws.writing_paused:
            break
    assert ws.writing_paused
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await ws.drained(deadline(0.2))
    assert time.monotonic() - started < 2
    release.set()
    ws.abort()
