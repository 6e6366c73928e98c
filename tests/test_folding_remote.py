"""The remote backend against fold servers that the tests start on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.folding import FoldError, create_backend
from core.folding.remote import RemoteBackend, validate_url
from test_folding_structure import small_pdb

SEQUENCE = "MAG"


class ScriptedHandler(BaseHTTPRequestHandler):
    """Responds to every POST as ``server.behaviour`` and ``server.answer`` set, and records each request."""

    def do_POST(self):
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # The client gave up first, as the timeout tests intend.

    def _answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.path, self.headers.get("Content-Type"), body))
        behaviour = self.server.behaviour

        if behaviour == "slow_headers":
            time.sleep(self.server.delay)
        status, payload, headers = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if behaviour == "slow_body":
            for start in range(0, len(payload), 16):
                self.wfile.write(payload[start : start + 16])
                self.wfile.flush()
                time.sleep(self.server.delay / 4)
        else:
            self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.behaviour = "normal"
        self.delay = 0.0
        self.answer = (200, b"", {})
        self.received = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/foldSequence/v1/pdb/"


@pytest.fixture
def fold_server():
    server = ScriptedServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_remote_normal_answer(fold_server):
    fold_server.answer = (200, small_pdb([0.91, 0.62, 0.33]).encode(), {"X-pTM": "0.7312"})
    structure = RemoteBackend(fold_server.url, timeout=5).fold("mag")

    assert structure.backend == "remote"
    assert structure.plddt == pytest.approx([91.0, 62.0, 33.0])
    assert structure.ptm == pytest.approx(0.7312)
    path, content_type, body = fold_server.received[0]
    assert path == "/foldSequence/v1/pdb/"
    assert body == b"MAG"
    assert content_type.startswith("text/plain")


def test_remote_answer_without_ptm(fold_server):
    fold_server.answer = (200, small_pdb([80.0, 80.0, 80.0]).encode(), {})
    structure = RemoteBackend(fold_server.url, timeout=5).fold(SEQUENCE)
    assert structure.ptm is None
    assert structure.plddt == pytest.approx([80.0, 80.0, 80.0])


@pytest.mark.parametrize("behaviour", ["slow_headers", "slow_body"])
def test_remote_slow_answer_times_out(fold_server, behaviour):
    fold_server.behaviour = behaviour
    fold_server.delay = 2.0
    fold_server.answer = (200, small_pdb([0.9, 0.9, 0.9]).encode(), {})

    start = time.monotonic()
    with pytest.raises(FoldError, match=r"did not answer within 0\.5 s"):
        RemoteBackend(fold_server.url, timeout=0.5).fold(SEQUENCE)
    assert time.monotonic() - start < 1.9


@pytest.mark.parametrize("status,reason", [(400, "Bad Request"), (404, "Not Found"), (500, "Internal Server Error"),
                                           (503, "Service Unavailable")])
def test_remote_http_errors(fold_server, status, reason):
    fold_server.answer = (status, b"model is warming up", {})
    with pytest.raises(FoldError) as raised:
        RemoteBackend(fold_server.url, timeout=5).fold(SEQUENCE)
    message = str(raised.value)
    assert f"HTTP {status} {reason}" in message
    assert "model is warming up" in message
    assert fold_server.url in message


def test_remote_garbage_body(fold_server):
    fold_server.answer = (200, b"<!DOCTYPE html><html><body>Welcome to the guest network</body></html>", {})
    with pytest.raises(FoldError, match="no PDB structure .*DOCTYPE html"):
        RemoteBackend(fold_server.url, timeout=5).fold(SEQUENCE)


def test_remote_binary_garbage_body(fold_server):
    fold_server.answer = (200, bytes(range(256)) * 4, {})
    with pytest.raises(FoldError, match="no PDB structure"):
        RemoteBackend(fold_server.url, timeout=5).fold(SEQUENCE)


def test_remote_structure_of_wrong_length(fold_server):
    fold_server.answer = (200, small_pdb([0.9, 0.9]).encode(), {})
    with pytest.raises(FoldError, match="structure of 2 residues for a sequence of 3 residues"):
        RemoteBackend(fold_server.url, timeout=5).fold(SEQUENCE)


def test_remote_oversize_sequence_not_sent(fold_server):
    backend = RemoteBackend(fold_server.url, timeout=5)
    with pytest.raises(FoldError, match="401 residues .* at most 400"):
        backend.fold("A" * 401)
    assert fold_server.received == []


def test_remote_custom_residue_limit(fold_server):
    fold_server.answer = (200, small_pdb([0.5] * 3).encode(), {})
    with pytest.raises(FoldError, match="at most 2"):
        RemoteBackend(fold_server.url, timeout=5, max_residues=2).fold(SEQUENCE)
    assert RemoteBackend(fold_server.url, timeout=5, max_residues=3).fold(SEQUENCE).plddt


def test_remote_invalid_sequence_not_sent(fold_server):
    with pytest.raises(ValueError, match="invalid character"):
        RemoteBackend(fold_server.url, timeout=5).fold("MA*")
    assert fold_server.received == []


def test_remote_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FoldError, match="connection refused"):
        RemoteBackend(f"http://127.0.0.1:{port}/", timeout=5).fold(SEQUENCE)


@pytest.mark.parametrize("url", ["", "ftp://127.0.0.1/", "127.0.0.1:8000", "http:///path"])
def test_remote_invalid_url(url):
    with pytest.raises(ValueError, match="invalid fold server URL"):
        create_backend("remote", url=url)


def test_validate_url_strips():
    assert validate_url("  http://127.0.0.1:8000/fold ") == "http://127.0.0.1:8000/fold"


@pytest.fixture
def tls_server(tmp_path, fold_server):
    """Wrap the scripted server in TLS with a self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    key, certificate = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    fold_server.socket = context.wrap_socket(fold_server.socket, server_side=True)
    fold_server.answer = (200, small_pdb([0.8, 0.8, 0.8]).encode(), {})
    return fold_server.url.replace("http://", "https://"), certificate


def test_remote_tls_untrusted_certificate(tls_server):
    url, _ = tls_server
    with pytest.raises(FoldError, match="TLS certificate of .* failed verification .*self-signed"):
        RemoteBackend(url, timeout=5).fold(SEQUENCE)


def test_remote_tls_with_ca_file(tls_server):
    url, certificate = tls_server
    backend = RemoteBackend(url, timeout=5, ca_file=str(certificate))
    assert backend.encrypted
    assert backend.fold(SEQUENCE).plddt == pytest.approx([80.0, 80.0, 80.0])
