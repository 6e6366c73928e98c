"""The fold server on 127.0.0.1, with the tiny transformers model, reached through the remote backend."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time

import pytest

from core.folding import FoldError
from core.folding.remote import RemoteBackend
from core.folding.server import FoldServer, start_in_thread
from test_folding_backbone import BackboneBackend
from test_folding_fixtures import TEST_SEQUENCE, tiny_esmfold_dir, tiny_hf_backend  # noqa: F401 (fixtures)


@pytest.fixture
def serve():
    """Start FoldServers on a free loopback port and stop them after the test."""
    started = []

    def start(backend, **options) -> FoldServer:
        server = FoldServer(backend, host="127.0.0.1", port=0, **options)
        started.append((server, start_in_thread(server)))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(5)


def post(server: FoldServer, body: bytes, path: str = "/foldSequence/v1/pdb/", headers: dict | None = None):
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode(), dict(response.headers)
    finally:
        connection.close()


def test_server_folds_through_remote_backend(serve, tiny_hf_backend):
    server = serve(tiny_hf_backend)
    remote = RemoteBackend(server.url, timeout=60)
    structure = remote.fold(TEST_SEQUENCE)
    local = tiny_hf_backend.fold(TEST_SEQUENCE)

    assert structure.backend == "remote"
    assert structure.sequence == TEST_SEQUENCE
    assert structure.plddt == pytest.approx(local.plddt, abs=0.01)
    assert structure.ptm == pytest.approx(local.ptm, abs=1e-4)


def test_server_binds_loopback_by_default():
    server = FoldServer(BackboneBackend(), port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_server_rejects_oversize_sequence(serve):
    server = serve(BackboneBackend(), max_residues=10)
    with pytest.raises(FoldError) as raised:
        RemoteBackend(server.url, timeout=30).fold(TEST_SEQUENCE)
    message = str(raised.value)
    assert "HTTP 413" in message
    assert f"sequence of {len(TEST_SEQUENCE)} residues is too long" in message
    assert "at most 10 residues" in message


def test_server_rejects_oversize_body(serve):
    server = serve(BackboneBackend(), max_residues=10)
    status, text, _ = post(server, b"A" * (server.max_body_bytes + 1))
    assert status == 413
    assert "too large" in text


def test_server_rejects_invalid_sequence(serve):
    server = serve(BackboneBackend())
    status, text, _ = post(server, b"MKV*LL")
    assert status == 400
    assert "invalid character '*'" in text

    status, text, _ = post(server, "MKVé".encode())
    assert status == 400
    assert "plain one-letter text" in text

    status, text, _ = post(server, b"  \n ")
    assert status == 400
    assert "empty" in text


def test_server_requires_content_length(serve):
    server = serve(BackboneBackend())
    with socket.create_connection(server.server_address[:2], timeout=10) as client:
        client.sendall(b"POST /foldSequence/v1/pdb/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
        answer = answer.decode()
    assert answer.startswith("HTTP/1.0 411")
    assert "missing Content-Length" in answer


def test_server_unknown_path(serve):
    server = serve(BackboneBackend())
    status, text, _ = post(server, b"MKV", path="/fold/other")
    assert status == 404
    assert "/foldSequence/v1/pdb/" in text


def test_server_health(serve):
    server = serve(BackboneBackend(), max_residues=123)
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    connection.request("GET", "/health")
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read()) == {"backend": "backbone", "max_residues": 123}
    connection.close()


def test_server_folds_one_at_a_time(serve):
    backend = BackboneBackend(seconds=0.3)
    server = serve(backend)
    results = []

    def fold():
        results.append(post(server, TEST_SEQUENCE.encode())[0])

    threads = [threading.Thread(target=fold) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [200, 200, 200]
    assert backend.max_running == 1


def test_server_busy_when_queue_full(serve):
    backend = BackboneBackend(seconds=1.0)
    server = serve(backend, max_waiting=0)
    first = threading.Thread(target=post, args=(server, TEST_SEQUENCE.encode()))
    first.start()
    time.sleep(0.3)

    status, text, headers = post(server, TEST_SEQUENCE.encode())
    first.join(30)
    assert status == 503
    assert "busy" in text
    assert headers.get("Retry-After") == "30"


def test_server_log_has_length_not_sequence(serve, caplog):
    server = serve(BackboneBackend(), max_residues=20)
    with caplog.at_level(logging.DEBUG, logger="sedd.fold_server"):
        post(server, TEST_SEQUENCE[:12].encode())
        post(server, TEST_SEQUENCE.encode())
        post(server, b"MKVXXB")

    messages = [record.getMessage() for record in caplog.records]
    assert any("12 residues" in message and "folded" in message for message in messages)
    assert any("rejected" in message and f"{len(TEST_SEQUENCE)} residues" in message for message in messages)
    assert any("rejected" in message and "400" in message for message in messages)
    for message in messages:
        assert TEST_SEQUENCE[:12] not in message
        assert "MKVXXB" not in message


def test_server_fold_failure_is_500(serve):
    class BrokenBackend:
        name = "broken"

        def fold(self, sequence):
            raise FoldError("CUDA device lost")

    server = serve(BrokenBackend())
    status, text, _ = post(server, b"MKV")
    assert status == 500
    assert "CUDA device lost" in text
