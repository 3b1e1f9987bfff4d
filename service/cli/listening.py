"""One listening socket per service process, on the same address (``SO_REUSEPORT``), so
that the kernel shares connections out between the processes.

uvicorn's own way with several processes is one socket, bound by the supervisor and
shared: whichever process wakes first accepts a whole burst of connections. With
clients that keep their connections (a reverse proxy's upstream pool, a load test), one
process was seen holding 47 of 64 connections and the other 17, its core half idle and
the busy one's answers twice as slow. With a socket each, the kernel hashes every new
connection to one of them. (What that costs: a process that dies takes the connections
still waiting in its socket's queue with it; uvicorn starts another in its place.)
"""

from __future__ import annotations

import socket


class ListeningSocketPerProcess:
    """Stands in uvicorn's list of sockets for a socket that each process makes itself:
    pickled to a worker process (multiprocessing's spawn) as a call, unpickled there as a
    new ``SO_REUSEPORT`` socket listening on ``host:port``."""

    def __init__(self, host: str, port: int, backlog: int):
        self.host, self.port, self.backlog = host, port, backlog

    def __reduce__(self):
        return listening_socket, (self.host, self.port, self.backlog)


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A socket listening on ``host:port`` beside the other processes' (same user only:
    the kernel refuses another user's socket into the group)."""
    sock = socket.socket(_family(host))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


def free_address(host: str, port: int) -> int:
    """``port`` (a free one when 0) after checking that nothing listens there, another
    ``serve`` included: a plain bind fails where any socket, shared or not, holds the
    port, whereas the processes' own binds would join a second service's group and split
    its traffic with it. Raises OSError (address in use) otherwise."""
    with socket.socket(_family(host)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return probe.getsockname()[1]


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
