"""What a command run in a host printed and how it ended, as the engines report it: Docker's multiplexed
exec stream (8-byte frame headers, stdout and stderr interleaved, frames split anywhere by the socket)
and the Kubernetes exec status channel."""

from __future__ import annotations

import struct

from connectors.docker.commands import OUTPUT_LIMIT, _Frames
from connectors.kubernetes.commands import exit_code


def frame(kind: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(data)) + data


def test_frames_split_anywhere_are_reassembled_per_stream() -> None:
    wire = frame(1, b"hello ") + frame(2, b"oops\n") + frame(1, b"world\n")
    frames = _Frames()
    for i in range(0, len(wire), 3):
        frames.feed(wire[i : i + 3])
    assert (bytes(frames.out), bytes(frames.err), frames.pending) == (b"hello world\n", b"oops\n", b"")


def test_output_beyond_the_limit_is_dropped() -> None:
    frames = _Frames()
    frames.feed(frame(1, b"x" * (OUTPUT_LIMIT + 10)))
    frames.feed(frame(1, b"more"))
    assert len(frames.out) == OUTPUT_LIMIT


def test_the_kubernetes_status_channel_gives_the_exit_code() -> None:
    assert exit_code('{"metadata":{},"status":"Success"}') == 0
    failure = (
        '{"status":"Failure","reason":"NonZeroExitCode",'
        '"details":{"causes":[{"reason":"ExitCode","message":"3"}]}}'
    )
    assert exit_code(failure) == 3
    assert exit_code('{"status":"Failure","message":"container not found"}') == 1
    assert exit_code("") is None
