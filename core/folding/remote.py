"""Client for fold servers that speak the ESM Atlas API: POST the raw sequence, get PDB text back.

The public ESM Atlas service takes at most 400 residues per request and returns pLDDT
in the B-factors on a 0-1 scale. A server started with ``sedd serve-fold`` speaks the
same API and also sends the pTM in an ``X-pTM`` response header. Using this backend
sends the sequence off the machine, so callers must enable it explicitly.
"""

from __future__ import annotations

import http.client
import math
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from .structure import FoldError, Structure, check_folded_pdb, structure_from_pdb, validate_sequence

BACKEND_NAME = "remote"
ESM_ATLAS_URL = "https://api.esmatlas.com/foldSequence/v1/pdb/"
PUBLIC_MAX_RESIDUES = 400
DEFAULT_TIMEOUT = 120.0
PTM_HEADER = "X-pTM"

# A PDB of a few thousand residues is a few MB; anything far larger is not a fold.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_READ_CHUNK_BYTES = 64 * 1024


def validate_url(url: str) -> str:
    """Return ``url`` stripped, raising ValueError unless it is an http or https URL with a host."""
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid fold server URL {url!r}: use http://HOST[:PORT]/PATH or https://HOST/PATH")
    return url


class RemoteBackend:
    """Folds by sending each sequence to a fold server at ``url``.

    ``timeout`` is the limit in seconds for the whole request, from connecting to the
    last byte of the response. ``max_residues`` is the server's sequence length limit,
    checked before anything is sent. ``ca_file`` names extra trusted certificates (PEM)
    for a server whose certificate a private authority signed.
    """

    name = BACKEND_NAME

    def __init__(self, url: str = ESM_ATLAS_URL, timeout: float = DEFAULT_TIMEOUT,
                 max_residues: int = PUBLIC_MAX_RESIDUES, ca_file: str | None = None):
        self.url = validate_url(url)
        if not timeout > 0:
            raise ValueError(f"invalid timeout {timeout}: use a number of seconds above 0")
        if max_residues < 1:
            raise ValueError(f"invalid residue limit {max_residues}: use at least 1")
        self.timeout = float(timeout)
        self.max_residues = int(max_residues)
        self.ca_file = ca_file

    @property
    def encrypted(self) -> bool:
        """Whether sequences travel over TLS."""
        return urllib.parse.urlsplit(self.url).scheme == "https"

    def fold(self, sequence: str) -> Structure:
        """Fold one sequence on the server; raises ValueError for an invalid sequence, FoldError for the rest."""
        sequence = validate_sequence(sequence)
        if len(sequence) > self.max_residues:
            raise FoldError(f"the sequence has {len(sequence)} residues but the fold server at {self.url} accepts "
                            f"at most {self.max_residues}: fold it locally or use a server with a higher limit")

        start = time.perf_counter()
        body, ptm_text = self._post(sequence.encode("ascii"))
        seconds = time.perf_counter() - start

        text = body.decode("utf-8", errors="replace")
        source = f"the fold server at {self.url}"
        check_folded_pdb(text, sequence, source)
        return structure_from_pdb(text, backend=self.name, seconds=seconds, ptm=_parse_ptm(ptm_text))

    def _post(self, data: bytes) -> tuple[bytes, str | None]:
        request = urllib.request.Request(
            self.url, data=data, method="POST",
            headers={"Content-Type": "text/plain; charset=ascii", "Accept": "text/plain, */*",
                     "User-Agent": "sedd-gui"})
        context = ssl.create_default_context(cafile=self.ca_file) if self.encrypted else None
        deadline = time.monotonic() + self.timeout

        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as response:
                body = self._read_until(response, deadline)
                return body, response.headers.get(PTM_HEADER)
        except urllib.error.HTTPError as error:
            raise FoldError(self._http_error_message(error)) from None
        except urllib.error.URLError as error:
            raise FoldError(self._connection_error_message(error.reason)) from None
        except (TimeoutError, socket.timeout):
            raise FoldError(self._timeout_message()) from None
        except ssl.SSLError as error:
            raise FoldError(self._connection_error_message(error)) from None
        except (http.client.HTTPException, ConnectionError) as error:
            raise FoldError(f"the connection to the fold server at {self.url} failed: {error!r}") from None

    def _read_until(self, response, deadline: float) -> bytes:
        chunks = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = response.read1(_READ_CHUNK_BYTES)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise FoldError(f"the fold server at {self.url} sent more than {MAX_RESPONSE_BYTES // 2**20} MB, "
                                "which is not a single PDB structure")
            chunks.append(chunk)

    def _timeout_message(self) -> str:
        return (f"the fold server at {self.url} did not answer within {self.timeout:g} s: "
                "try again later or raise the timeout")

    def _http_error_message(self, error: urllib.error.HTTPError) -> str:
        try:
            detail = error.read(500).decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException):
            detail = ""
        detail = " ".join(detail.split())[:300]
        message = f"the fold server at {self.url} rejected the request with HTTP {error.code} {error.reason}"
        return f"{message}: {detail}" if detail else message

    def _connection_error_message(self, reason) -> str:
        if isinstance(reason, ssl.SSLCertVerificationError):
            return (f"the TLS certificate of {self.url} failed verification ({reason.verify_message}): "
                    "if the server uses a private certificate authority, give its certificate file (PEM)")
        if isinstance(reason, ssl.SSLError):
            return f"the TLS connection to {self.url} failed: {reason}"
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return self._timeout_message()
        if isinstance(reason, ConnectionRefusedError):
            return f"cannot connect to the fold server at {self.url}: connection refused (is the server running?)"
        if isinstance(reason, socket.gaierror):
            return f"cannot connect to the fold server at {self.url}: host name not found"
        return f"cannot connect to the fold server at {self.url}: {reason}"


def _parse_ptm(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None
