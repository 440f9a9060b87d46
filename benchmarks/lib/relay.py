# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TCP relay on 127.0.0.1 that adds a round-trip time, and counts the round trips made through it.

The benchmark puts it between the SSH client and the loopback sshd, so that a call pays for its round
trips as it would against a host 10-80 ms away. Every chunk is delivered half the round-trip time after
it arrived, in order, in each direction. A round trip is counted each time data turns from flowing to
the server to flowing back to the client on a connection: the client waited for an answer once.
"""

from __future__ import annotations

import bisect
import collections
import socket
import threading
import time

CHUNK = 65536


class _Pipe:
    """One direction of one connection: reads src, writes to dst after the delay."""

    def __init__(self, relay, src, dst, to_server, connection):
        self.relay = relay
        self.src = src
        self.dst = dst
        self.to_server = to_server
        self.connection = connection
        self.queue = collections.deque()
        self.ready = threading.Condition()
        self.closed = False

    def read_loop(self):
        try:
            while True:
                data = self.src.recv(CHUNK)
                self.connection.saw(self.to_server, bool(data))
                with self.ready:
                    self.queue.append((time.monotonic() + self.relay.delay, data))
                    self.ready.notify()
                if not data:
                    return
        except OSError:
            with self.ready:
                self.queue.append((time.monotonic(), b''))
                self.ready.notify()

    def write_loop(self):
        try:
            while True:
                with self.ready:
                    while not self.queue:
                        self.ready.wait()
                    due, data = self.queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    self.dst.shutdown(socket.SHUT_WR)
                    return
                self.dst.sendall(data)
        except OSError:
            pass
        finally:
            self.connection.pipe_done()


class _Connection:
    """One relayed connection: counts its client-to-server then server-to-client turns, closes when both pipes end."""

    def __init__(self, relay, client, server):
        self.relay = relay
        self.sockets = (client, server)
        self.lock = threading.Lock()
        self.last_to_server = None
        self.pipes_left = 2

    def pipe_done(self):
        with self.lock:
            self.pipes_left -= 1
            last = self.pipes_left == 0
        if last:
            for sock in self.sockets:
                sock.close()

    def saw(self, to_server, data):
        if not data:
            return
        with self.lock:
            if not to_server and self.last_to_server:
                self.relay.count_round_trip()
            self.last_to_server = to_server


class LatencyRelay:
    """Listens on 127.0.0.1:<port> and relays to 127.0.0.1:<target_port> with rtt_ms of round-trip time."""

    def __init__(self, target_port, rtt_ms):
        if rtt_ms < 0:
            raise ValueError('the round-trip time must be 0 ms or more')
        self.target_port = target_port
        self.rtt_ms = rtt_ms
        self.delay = rtt_ms / 2000.0
        self.lock = threading.Lock()
        self.round_trips = 0
        self.round_trip_times = []  # time.time() of each, in order: the probe's clock
        self.connections = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, name='latency-relay', daemon=True)
        self.thread.start()

    def count_round_trip(self):
        with self.lock:
            self.round_trips += 1
            self.round_trip_times.append(time.time())

    def round_trips_between(self, start, end):
        """Round trips whose answer came back between start and end (time.time() seconds)."""
        with self.lock:
            return bisect.bisect_right(self.round_trip_times, end) - bisect.bisect_left(self.round_trip_times, start)

    def counts(self):
        """(connections, round trips) so far: callers take the difference around what they measure."""
        with self.lock:
            return self.connections, self.round_trips

    def _accept_loop(self):
        while not self.stopping:
            try:
                client, dummy = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(('127.0.0.1', self.target_port))
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
            connection = _Connection(self, client, server)
            for pipe in (_Pipe(self, client, server, True, connection), _Pipe(self, server, client, False, connection)):
                threading.Thread(target=pipe.read_loop, daemon=True).start()
                threading.Thread(target=pipe.write_loop, daemon=True).start()

    def close(self):
        self.stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
