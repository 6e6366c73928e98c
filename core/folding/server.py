"""A fold server speaking the ESM Atlas API, so that one GPU machine folds for a whole lab.

POST a raw sequence (plain text, whitespace ignored) to ``/foldSequence/v1/pdb/`` or
``/`` and get PDB text back, with pLDDT (0-100) in the B-factors and the pTM in the
``X-pTM`` header. ``GET /health`` returns the backend name and limits as JSON.

One fold runs at a time, because a second model call on the same GPU would compete
for its memory. Up to ``max_waiting`` further requests wait their turn, and the rest
get 503. The log records each request's client, length, time and outcome, never the
sequence itself. There is no authentication: bind to 127.0.0.1 (the default) or to a
network that only trusted users reach.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .remote import PTM_HEADER
from .structure import FoldError, validate_sequence

logger = logging.getLogger("sedd.fold_server")

FOLD_PATHS = ("/", "/foldSequence/v1/pdb", "/foldSequence/v1/pdb/")
DEFAULT_MAX_RESIDUES = 1000
DEFAULT_MAX_WAITING = 8
# Room for line breaks and spaces that clients put into a pasted sequence.
BODY_SLACK_BYTES = 4096
# Seconds a client may take to send its request before the connection is dropped.
REQUEST_READ_TIMEOUT = 30
MAX_DISCARD_BYTES = 1024 * 1024


class FoldServer(ThreadingHTTPServer):
    """HTTP server around one folding backend (anything with ``name`` and ``fold(sequence)``)."""

    daemon_threads = True

    def __init__(self, backend, host: str = "127.0.0.1", port: int = 8000,
                 max_residues: int = DEFAULT_MAX_RESIDUES, max_waiting: int = DEFAULT_MAX_WAITING):
        self.backend = backend
        self.max_residues = max_residues
        self.max_body_bytes = max_residues + BODY_SLACK_BYTES
        self.fold_lock = threading.Lock()
        self.queue_slots = threading.BoundedSemaphore(max_waiting + 1)
        super().__init__((host, port), _FoldRequestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/foldSequence/v1/pdb/"


class _FoldRequestHandler(BaseHTTPRequestHandler):
    server: FoldServer
    timeout = REQUEST_READ_TIMEOUT
    server_version = "sedd-serve-fold"

    def do_GET(self):
        if self.path.rstrip("/") != "/health":
            self._send_text(HTTPStatus.NOT_FOUND, "not found: POST a sequence to /foldSequence/v1/pdb/")
            return
        info = {"backend": self.server.backend.name, "max_residues": self.server.max_residues}
        self._send(HTTPStatus.OK, json.dumps(info).encode(), "application/json")

    def do_POST(self):
        start = time.perf_counter()
        length = None
        try:
            if self.path not in FOLD_PATHS:
                self._reject(HTTPStatus.NOT_FOUND, "not found: POST the sequence to /foldSequence/v1/pdb/")
                return
            sequence = self._read_sequence()
            if sequence is None:
                return
            length = len(sequence)
            self._fold(sequence, start)
        except (ConnectionError, TimeoutError) as error:
            logger.warning("request from %s: connection lost (%s), %s residues",
                           self.client_address[0], error.__class__.__name__, length)

    def _read_sequence(self) -> str | None:
        header = self.headers.get("Content-Length")
        if header is None:
            self._reject(HTTPStatus.LENGTH_REQUIRED, "missing Content-Length header")
            return None
        try:
            size = int(header)
        except ValueError:
            self._reject(HTTPStatus.BAD_REQUEST, f"invalid Content-Length {header!r}")
            return None
        if size > self.server.max_body_bytes:
            self._discard_body(size)
            self._reject(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                         f"request body of {size} bytes is too large: this server folds at most "
                         f"{self.server.max_residues} residues")
            return None

        body = self.rfile.read(size)
        try:
            sequence = validate_sequence(body.decode("ascii"))
        except UnicodeDecodeError:
            self._reject(HTTPStatus.BAD_REQUEST, "invalid body: send the sequence as plain one-letter text")
            return None
        except ValueError as error:
            self._reject(HTTPStatus.BAD_REQUEST, f"invalid sequence: {error}")
            return None

        if len(sequence) > self.server.max_residues:
            self._reject(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                         f"sequence of {len(sequence)} residues is too long: this server folds at most "
                         f"{self.server.max_residues} residues", length=len(sequence))
            return None
        return sequence

    def _fold(self, sequence: str, start: float):
        if not self.server.queue_slots.acquire(blocking=False):
            self._reject(HTTPStatus.SERVICE_UNAVAILABLE, "the server is busy: try again later",
                         length=len(sequence), extra_headers={"Retry-After": "30"})
            return
        try:
            with self.server.fold_lock:
                waited = time.perf_counter() - start
                structure = self.server.backend.fold(sequence)
        except FoldError as error:
            logger.error("fold failed for %s: %d residues after %.2f s: %s",
                         self.client_address[0], len(sequence), time.perf_counter() - start, error)
            self._send_text(HTTPStatus.INTERNAL_SERVER_ERROR, f"fold failed: {error}")
            return
        except Exception:
            # The model itself failed (e.g. a CUDA error), so send 500 instead of dropping the connection.
            logger.exception("fold crashed for %s: %d residues after %.2f s",
                             self.client_address[0], len(sequence), time.perf_counter() - start)
            self._send_text(HTTPStatus.INTERNAL_SERVER_ERROR, "fold failed: internal error, see the server log")
            return
        finally:
            self.server.queue_slots.release()

        headers = {PTM_HEADER: f"{structure.ptm:.4f}"} if structure.ptm is not None else {}
        self._send(HTTPStatus.OK, structure.pdb.encode(), "text/plain; charset=utf-8", headers)
        logger.info("folded for %s: %d residues in %.2f s (%.2f s waiting), mean pLDDT %.1f",
                    self.client_address[0], len(sequence), time.perf_counter() - start, waited,
                    structure.mean_plddt)

    def _discard_body(self, size: int):
        # Reading part of an oversize body lets the client finish sending and read the 413;
        # the connection closes afterwards, so the unread rest does not matter.
        self.close_connection = True
        self.rfile.read(min(size, MAX_DISCARD_BYTES))

    def _reject(self, status: HTTPStatus, reason: str, length: int | None = None,
                extra_headers: dict | None = None):
        residues = "unknown length" if length is None else f"{length} residues"
        logger.warning("rejected %s from %s (%s): %d %s", self.command, self.client_address[0], residues,
                       status.value, reason)
        self._send_text(status, reason, extra_headers)

    def _send_text(self, status: HTTPStatus, text: str, extra_headers: dict | None = None):
        self._send(status, (text + "\n").encode(), "text/plain; charset=utf-8", extra_headers)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, extra_headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # The request line contains the method and path only, never the body.
        logger.debug("%s %s", self.client_address[0], format % args)


def start_in_thread(server: FoldServer) -> threading.Thread:
    """Serve in a daemon thread; stop with ``server.shutdown()`` then ``server.server_close()``."""
    thread = threading.Thread(target=server.serve_forever, name="fold-server", daemon=True)
    thread.start()
    return thread
