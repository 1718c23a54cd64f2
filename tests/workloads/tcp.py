"""A loopback TCP transfer of exactly N bytes between two processes.

``python tcp.py serve`` listens on 127.0.0.1 (port chosen by the kernel, reported in its
ready line); after go it accepts one connection and reads to EOF.
``python tcp.py send --port P --bytes N`` connects after go, sends exactly N bytes, and
closes. Each reports the connection's addresses, so a test can find "that connection"
(client port <-> server port) in a probe's output. Connecting happens after go, so the
connection's establishment is inside the traced window too.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CHUNK = 64 * 1024


def transfer(nbytes: int):
    """Start the server and client workloads (parent side); returns (server, client)."""
    from . import Workload

    server = Workload("tcp.py", "serve")
    client = Workload("tcp.py", "send", "--port", str(server.info["port"]), "--bytes", str(nbytes))
    return server, client


def serve() -> None:
    import _child

    _child.set_comm("dtscope-tcpsrv")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    _child.ready(pid=os.getpid(), port=listener.getsockname()[1])
    conn, peer = listener.accept()
    received = 0
    while True:
        data = conn.recv(CHUNK)
        if not data:
            break
        received += len(data)
    conn.close()
    listener.close()
    _child.done(received=received, peer_port=peer[1])
    _child.wait_for_exit()


def send(port: int, nbytes: int) -> None:
    import _child

    _child.set_comm("dtscope-tcpcli")
    payload = bytes(range(256)) * (CHUNK // 256)
    _child.ready(pid=os.getpid())
    conn = socket.create_connection(("127.0.0.1", port))
    local_port = conn.getsockname()[1]
    remaining = nbytes
    while remaining:
        remaining -= conn.send(payload[: min(remaining, CHUNK)])
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)  # wait for the server's close so the whole exchange is over at "done"
    conn.close()
    _child.done(sent=nbytes, local_port=local_port, remote_port=port)
    _child.wait_for_exit()


def retransmit_workload():
    """A workload whose connection retransmits its SYN (parent side)."""
    from . import Workload

    return Workload("tcp.py", "syn-retransmit")


TCP_INFO_TOTAL_RETRANS = 100  # offset of tcpi_total_retrans in struct tcp_info


def syn_retransmit() -> None:
    """Make one connection retransmit its SYN, and report how many times it did.

    The listener's accept queue holds one connection (backlog 0) and a first client fills
    it, so the kernel drops the second client's SYN; accepting the first one makes room,
    and the SYN retransmitted after the initial RTO (1 s) gets through. The socket's own
    count (TCP_INFO tcpi_total_retrans) is the ground truth, whatever the timing.
    """
    import select
    import struct
    import time

    import _child

    _child.set_comm("dtscope-tcpre")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    _child.ready(pid=os.getpid(), port=port)
    first = socket.create_connection(("127.0.0.1", port))
    time.sleep(0.05)  # the first connection is in the accept queue
    second = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    second.setblocking(False)
    try:
        second.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    time.sleep(0.3)
    accepted, _ = listener.accept()
    select.select([], [second], [], 30)
    error = second.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    info = second.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    (retransmits,) = struct.unpack_from("I", info, TCP_INFO_TOTAL_RETRANS)
    _child.done(port=port, local_port=second.getsockname()[1], retransmits=retransmits, error=error)
    _child.wait_for_exit()
    for sock in (accepted, first, second, listener):
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="role", required=True)
    sub.add_parser("serve")
    sub.add_parser("syn-retransmit")
    sender = sub.add_parser("send")
    sender.add_argument("--port", type=int, required=True)
    sender.add_argument("--bytes", type=int, required=True)
    args = parser.parse_args()
    if args.role == "serve":
        serve()
    elif args.role == "syn-retransmit":
        syn_retransmit()
    else:
        send(args.port, args.bytes)


if __name__ == "__main__":
    main()
