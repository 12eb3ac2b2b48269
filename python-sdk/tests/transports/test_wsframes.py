"""`transports.wsframes`: the server-role RFC 6455 codec, fed byte streams a client could send."""

from __future__ import annotations

import os
import struct

import pytest
from openenv.transports.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameFault,
    FrameReader,
    MaskKeys,
    close_frame,
    frame,
    masked_frame,
    parse_close,
)
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader
from websockets.uri import parse_uri


def client_bytes(*frames: Frame) -> bytes:
    """What websockets' client sends for `frames` (masked, as on the wire)."""
    client = ClientProtocol(parse_uri("ws://127.0.0.1/ws"))
    client.state = State.OPEN
    for item in frames:
        client.send_frame(item)
    return b"".join(client.data_to_send())


def raw_frame(first: int, payload: bytes, *, masked: bool = True, length_form: int | None = None) -> bytes:
    """A hand-built client frame (for what websockets refuses to produce)."""
    length = len(payload)
    form = length_form if length_form is not None else (length if length < 126 else 126 if length < 65536 else 127)
    mask_bit = 0x80 if masked else 0
    if form < 126:
        head = bytes((first, mask_bit | length))
    elif form == 126:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_text_and_binary_round_trip_at_each_length_form(size: int) -> None:
    payload = os.urandom(size)
    reader = FrameReader(1 << 20)
    data = client_bytes(Frame(Opcode.BINARY, payload), Frame(Opcode.TEXT, b"x" * size))
    assert reader.feed(data) == [(OP_BINARY, payload), (OP_TEXT, b"x" * size)]
    assert reader.fault is None


def test_byte_by_byte_delivery_gives_the_same_messages() -> None:
    data = client_bytes(
        Frame(Opcode.TEXT, b"hello", fin=False),
        Frame(Opcode.PING, b"p"),
        Frame(Opcode.CONT, b" world"),
        Frame(Opcode.BINARY, os.urandom(300)),
    )
    reader = FrameReader(1 << 20)
    events = [event for i in range(len(data)) for event in reader.feed(data[i : i + 1])]
    assert [op for op, _ in events] == [OP_PING, OP_TEXT, OP_BINARY]
    assert events[1] == (OP_TEXT, b"hello world")
    assert reader.fault is None


def test_large_message_in_many_chunks() -> None:
    payload = os.urandom(3 << 20)
    data = client_bytes(Frame(Opcode.BINARY, payload))
    reader = FrameReader(4 << 20)
    events = []
    for start in range(0, len(data), 65536):
        events += reader.feed(data[start : start + 65536])
    assert events == [(OP_BINARY, payload)]


def test_control_frames_between_fragments_and_fragment_reassembly() -> None:
    data = client_bytes(
        Frame(Opcode.BINARY, b"a", fin=False),
        Frame(Opcode.CONT, b"b", fin=False),
        Frame(Opcode.PONG, b"q"),
        Frame(Opcode.CONT, b"c"),
        Frame(Opcode.CLOSE, Close(1000, "bye").serialize()),
    )
    events = FrameReader(100).feed(data)
    assert events == [(OP_PONG, b"q"), (OP_BINARY, b"abc"), (OP_CLOSE, b"\x03\xe8bye")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (raw_frame(0x81, b"hi", masked=False), "client frames must be masked"),
        (raw_frame(0xC1, b"hi"), "reserved bits must be 0"),
        (raw_frame(0x83, b"hi"), "unknown opcode 0x3"),
        (raw_frame(0x8B, b""), "unknown opcode 0xb"),
        (raw_frame(0x09, b"p"), "control frames must not be fragmented"),
        (raw_frame(0x89, b"p" * 126), "control frame payload over 125 bytes"),
        (raw_frame(0x80, b"c"), "continuation frame outside a message"),
        (raw_frame(0x01, b"a") + raw_frame(0x81, b"b"), "new message before the last one finished"),
        (raw_frame(0x82, b"", length_form=127)[:2] + b"\x80" + b"\0" * 7, "payload length must fit 63 bits"),
    ],
)
def test_protocol_violations_fault_with_1002(data: bytes, reason: str) -> None:
    ok = client_bytes(Frame(Opcode.TEXT, b"before"))
    reader = FrameReader(1 << 20)
    assert reader.feed(ok + data) == [(OP_TEXT, b"before")]  # what came first is kept
    assert reader.fault == FrameFault(1002, reason)
    assert reader.feed(client_bytes(Frame(Opcode.TEXT, b"after"))) == []


def test_oversized_message_is_refused_from_its_header_alone() -> None:
    reader = FrameReader(1000)
    header = struct.pack("!BBQ", 0x82, 0x80 | 127, 10**9) + b"\0\0\0\0"  # no payload sent at all
    assert reader.feed(header) == []
    assert reader.fault == FrameFault(1009, "message too big", 10**9)


def test_oversized_fragmented_message_counts_all_fragments() -> None:
    reader = FrameReader(1000)
    data = client_bytes(Frame(Opcode.TEXT, b"a" * 600, fin=False), Frame(Opcode.CONT, b"b" * 600))
    assert reader.feed(data) == []
    assert reader.fault is not None and reader.fault.code == 1009 and reader.fault.size == 1200


def test_message_exactly_at_the_limit_passes() -> None:
    reader = FrameReader(1000)
    assert reader.feed(client_bytes(Frame(Opcode.BINARY, b"z" * 1000))) == [(OP_BINARY, b"z" * 1000)]


def parse_server_frames(data: bytes) -> list[Frame]:
    """websockets' own parser, reading `data` as a client reads server frames (unmasked)."""
    stream = StreamReader()
    stream.feed_data(data)
    stream.feed_eof()
    frames = []
    while stream.buffer:
        parser = Frame.parse(stream.read_exact, mask=False)
        with pytest.raises(StopIteration) as done:
            next(parser)
        frames.append(done.value.value)
    return frames


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, 70000])
def test_server_frames_parse_with_websockets(size: int) -> None:
    payload = b"y" * size
    frames = parse_server_frames(frame(OP_TEXT, payload) + frame(OP_BINARY, b"pp"))
    assert [(f.opcode, f.data, f.fin) for f in frames] == [(Opcode.TEXT, payload, True), (Opcode.BINARY, b"pp", True)]


def test_close_frame_round_trip_and_reason_cut_on_a_character_boundary() -> None:
    data = close_frame(1009, "é" * 100)  # 200 bytes of UTF-8: cut to 122, not mid-character
    assert len(data) == 2 + 2 + 122
    assert parse_close(data[2:]) == (1009, "é" * 61)
    assert close_frame(None) == b"\x88\x00"
    assert parse_close(b"") == (None, "")


@pytest.mark.parametrize(
    ("payload", "fault"),
    [
        (b"\x03", FrameFault(1002, "close frame with a 1-byte payload")),
        (b"\x03\xed", FrameFault(1002, "invalid close code 1005")),
        (b"\x00\x00", FrameFault(1002, "invalid close code 0")),
        (b"\x03\xe8\xff", FrameFault(1007, "close reason is not UTF-8")),
    ],
)
def test_invalid_close_payloads(payload: bytes, fault: FrameFault) -> None:
    assert parse_close(payload) == fault


def test_application_close_codes_are_valid() -> None:
    assert parse_close(b"\x0b\xb8") == (3000, "")
    assert parse_close(b"\x13\x87ok") == (4999, "ok")


def test_single_small_frame_shortcut_still_checks_the_limit() -> None:
    reader = FrameReader(10)
    assert reader.feed(client_bytes(Frame(Opcode.TEXT, b"0123456789"))) == [(OP_TEXT, b"0123456789")]
    assert reader.feed(client_bytes(Frame(Opcode.TEXT, b"0123456789A"))) == []
    assert reader.fault is not None and reader.fault.code == 1009


@pytest.mark.parametrize("size", [0, 125, 126, 65536])
def test_masked_client_frames_parse_as_websockets_server_frames(size: int) -> None:
    keys = MaskKeys()
    first, second = keys.next(), keys.next()
    assert len(first) == 4 and first != second
    payload = os.urandom(size)
    reader = FrameReader(1 << 20)
    assert reader.feed(masked_frame(OP_TEXT, payload, first)) == [(OP_TEXT, payload)]


def test_mask_keys_refill_from_the_entropy_pool() -> None:
    keys = MaskKeys()
    drawn = {keys.next() for _ in range(3000)}  # crosses the 4 KiB pool boundary twice
    assert len(drawn) > 2990


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, 70000])
def test_client_role_reads_server_frames_whole_and_byte_by_byte(size: int) -> None:
    payload = os.urandom(size)
    data = frame(OP_BINARY, payload) + frame(OP_PING, b"p") + frame(OP_TEXT, b"t")
    expected = [(OP_BINARY, payload), (OP_PING, b"p"), (OP_TEXT, b"t")]
    assert FrameReader(1 << 20, masked=False).feed(data) == expected
    reader = FrameReader(1 << 20, masked=False)
    step = max(1, len(data) // 300)
    events = [event for i in range(0, len(data), step) for event in reader.feed(data[i : i + step])]
    assert events == expected and reader.fault is None


def test_client_role_refuses_masked_frames_and_oversized_messages() -> None:
    reader = FrameReader(1 << 20, masked=False)
    assert reader.feed(frame(OP_TEXT, b"ok") + masked_frame(OP_TEXT, b"x", b"abcd")) == [(OP_TEXT, b"ok")]
    assert reader.fault == FrameFault(1002, "server frames must not be masked")
    small = FrameReader(100, masked=False)
    assert small.feed(frame(OP_TEXT, b"y" * 101)[:4]) == []  # refused from the header
    assert small.fault is not None and small.fault.code == 1009 and small.fault.size == 101
