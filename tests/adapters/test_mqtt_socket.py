"""paho reading through a buffered socket (adapters/mqtt_socket.py): the same bytes in the
same order, whatever way the network cuts them, and a real broker's backlog of every size
of message received whole."""

from __future__ import annotations

import random
import socket
import threading

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from adapters.mqtt_socket import READ_SIZE, BufferedClient, BufferedSocket
from tests.peers import Mosquitto
from tests.sensors import Gateway


def test_small_reads_are_served_from_one_large_one_and_pending_counts_the_rest() -> None:
    ours, theirs = socket.socketpair()
    buffered = BufferedSocket(ours)
    theirs.sendall(b"\x30\x05hello\x30\x02hi")
    assert buffered.recv(1) == b"\x30"
    assert buffered.pending() == 10
    assert buffered.recv(1) == b"\x05"
    assert buffered.recv(5) == b"hello"
    assert buffered.recv(100) == b"\x30\x02hi"  # never more than is there
    assert buffered.pending() == 0
    ours.setblocking(False)
    with pytest.raises(BlockingIOError):
        buffered.recv(1)  # nothing buffered, nothing on the wire: paho waits in select
    theirs.close()
    assert buffered.recv(1) == b"", "the peer's close reads as paho expects"
    buffered.close()


def test_any_cutting_of_a_stream_reads_back_the_same_bytes() -> None:
    rng = random.Random(11)
    data = rng.randbytes(3 * READ_SIZE + 123)
    ours, theirs = socket.socketpair()
    buffered = BufferedSocket(ours)
    writer = threading.Thread(target=chunked_send, args=(theirs, data, rng.randrange))
    writer.start()
    got = bytearray()
    while len(got) < len(data):
        got += buffered.recv(rng.choice([1, 1, 2, 7, 300, 70_000]))
    writer.join()
    assert bytes(got) == data
    theirs.close()
    buffered.close()


def chunked_send(sock: socket.socket, data: bytes, randrange: object) -> None:
    at = 0
    while at < len(data):
        step = randrange(1, 9000)  # type: ignore[operator]
        sock.sendall(data[at : at + step])
        at += step


def test_a_backlog_of_every_size_arrives_whole_and_in_order(broker: Mosquitto) -> None:
    # Sizes that cut packets across the 64 KiB reads: tiny, around the boundary, and
    # larger than a whole read.
    sizes = [0, 1, 200, READ_SIZE - 5, READ_SIZE, READ_SIZE + 7, 3 * READ_SIZE, 40] * 25
    sizes += [120] * 3000
    payloads = [i.to_bytes(4, "big") + bytes([i % 251]) * size for i, size in enumerate(sizes)]
    topic = "perimeter/test/ir/ir-01"

    subscribed = threading.Event()
    subscriber = BufferedClient(CallbackAPIVersion.VERSION2, "buffered", clean_session=False)
    subscriber.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    subscriber.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    subscriber.connect_async("127.0.0.1", broker.port)
    subscriber.loop_start()
    assert subscribed.wait(10)
    subscriber.disconnect()  # the broker queues the backlog for this session
    subscriber.loop_stop()

    with Gateway(broker.port, client_id="publisher") as gateway:
        for payload in payloads:
            gateway.send(topic, payload)
        gateway.flush()

    got: list[bytes] = []
    done = threading.Event()

    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        got.append(bytes(message.payload))
        if len(got) == len(payloads):
            done.set()

    subscriber = BufferedClient(CallbackAPIVersion.VERSION2, "buffered", clean_session=False)
    subscriber.on_message = on_message
    subscriber.connect_async("127.0.0.1", broker.port)
    subscriber.loop_start()
    assert done.wait(60), f"{len(got)} of {len(payloads)} messages"
    subscriber.disconnect()
    subscriber.loop_stop()
    assert got == payloads
