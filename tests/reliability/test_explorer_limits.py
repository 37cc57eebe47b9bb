"""The explorer against a hostile page and careless clients (issue 15, items 10 and 11): Host
headers other than its own address (DNS rebinding), idle connections, more clients than workers,
clients that hang up early."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from dcgan.generation import explorer as ex


@pytest.fixture(scope="module")
def explorer(_shared_run):
    return ex.Explorer(_shared_run)  # only reads the run: one for the module


@pytest.fixture
def served(explorer, monkeypatch):
    monkeypatch.setattr(ex, "IDLE_TIMEOUT_S", 0.5, raising=False)  # shortened for the tests
    srv = ex.make_server(explorer, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)


def _get(port: int, path: str = "/api/info", host: str | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status


def test_only_its_own_address_is_served(served):
    _, port = served
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        assert _get(port, host=host) == 200, host
    for host in (f"evil.example:{port}", f"127.0.0.1.nip.io:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}",
                 f"10.0.0.1:{port}", ""):
        assert _get(port, host=host) == 403, host
        assert _get(port, "/api/image?seed=1", host=host) == 403, host


def test_host_rules():
    assert ex.allowed_host("0.0.0.0:80", "0.0.0.0", 80) and ex.allowed_host("192.168.1.5:80", "0.0.0.0", 80)
    assert not ex.allowed_host("attacker.example:80", "0.0.0.0", 80)
    assert ex.allowed_host("192.168.1.5:8765", "192.168.1.5", 8765)
    assert not ex.allowed_host("localhost:8765", "192.168.1.5", 8765)
    assert not ex.allowed_host(None, "127.0.0.1", 8765)


def test_idle_connections_are_closed(served):
    _, port = served
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /api/info HTTP/1.1\r\n")   # and then nothing (slowloris)
    t0 = time.monotonic()
    assert sock.recv(1024) == b""                  # the server hung up
    assert time.monotonic() - t0 < 5
    sock.close()


def test_workers_are_bounded(served):
    srv, port = served
    srv.RequestHandlerClass.timeout = 5.0  # the silent clients hold their workers for this test
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(ex.MAX_WORKERS)]
    try:
        time.sleep(0.2)  # every worker is waiting on a silent client
        assert threading.active_count() < ex.MAX_WORKERS + 10
        assert _get(port) == 503                   # beyond the bound: refused at once, no thread
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + 15
    while _get(port) != 200:                       # the slots come back
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_client_that_hangs_up_early_is_no_traceback(served, capfd):
    _, port = served
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.sendall(f"GET /api/image?seed=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        sock.close()                               # RST before the PNG is written
    time.sleep(1.0)
    assert _get(port) == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err, err
