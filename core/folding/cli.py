"""The ``sedd fold`` and ``sedd serve-fold`` commands."""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
from pathlib import Path

from ..cli import non_negative_int, positive_float, positive_int
from .hf import DEFAULT_MODEL
from .remote import DEFAULT_TIMEOUT, ESM_ATLAS_URL, PUBLIC_MAX_RESIDUES
from .server import DEFAULT_MAX_RESIDUES, DEFAULT_MAX_WAITING

EXIT_FOLD_FAILED = 1


def add_fold_commands(commands) -> None:
    """Add the fold and serve-fold commands to the ``sedd`` parser."""
    fold = commands.add_parser(
        "fold", help="predict the structure of a sequence with ESMFold",
        description="Fold SEQUENCE, write the structure as PDB (pLDDT 0-100 in the B-factors) and print "
                    "the mean pLDDT and the pTM. The remote backend sends the sequence to the server at --url.")
    fold.add_argument("sequence", help="protein sequence in one-letter code")
    fold.add_argument("--backend", choices=("esmfold", "hf", "remote"), default="esmfold",
                      help="esmfold: local fair-esm; hf: local transformers; remote: a fold server (default esmfold)")
    fold.add_argument("--output", required=True, help="PDB file to write")
    fold.add_argument("--url", default=ESM_ATLAS_URL,
                      help=f"fold server URL for --backend remote (default: the public ESM Atlas, {ESM_ATLAS_URL})")
    fold.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT,
                      help=f"seconds to wait for the fold server (default {DEFAULT_TIMEOUT:g})")
    fold.add_argument("--max-residues", type=positive_int, default=PUBLIC_MAX_RESIDUES,
                      help=f"maximum sequence length in residues that the fold server accepts (default {PUBLIC_MAX_RESIDUES}, "
                           "the public service's limit)")
    fold.add_argument("--ca-file", help="extra trusted TLS certificates (PEM) for the fold server")
    _add_local_options(fold)
    fold.set_defaults(handler=run_fold)

    serve = commands.add_parser(
        "serve-fold", help="serve ESMFold over HTTP with the ESM Atlas API",
        description="Load ESMFold once and fold sequences POSTed as plain text to /foldSequence/v1/pdb/, "
                    "one at a time. Clients use 'sedd fold --backend remote --url URL' or the GUI's remote "
                    "backend. There is no authentication: expose it only to trusted networks.")
    serve.add_argument("--backend", choices=("esmfold", "hf"), default="esmfold",
                       help="esmfold: fair-esm; hf: transformers (default esmfold)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 for every network interface)")
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    serve.add_argument("--max-residues", type=positive_int, default=DEFAULT_MAX_RESIDUES,
                       help=f"maximum sequence length in residues (default {DEFAULT_MAX_RESIDUES})")
    serve.add_argument("--max-waiting", type=non_negative_int, default=DEFAULT_MAX_WAITING,
                       help=f"requests that may wait for the running fold before others get HTTP 503 "
                            f"(default {DEFAULT_MAX_WAITING})")
    _add_local_options(serve)
    serve.set_defaults(handler=run_serve_fold)


def _add_local_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N for local ESMFold (default auto)")
    parser.add_argument("--chunk-size", type=positive_int,
                        help="axial attention chunk size for long sequences; lower uses less memory (default: none)")
    parser.add_argument("--esm-weights",
                        help="folder with esmfold_3B_v1.pt and the ESM-2 3B files for --backend esmfold "
                             "(default: the torch hub cache)")
    parser.add_argument("--hf-model", default=DEFAULT_MODEL,
                        help=f"model folder or Hugging Face id for --backend hf (default {DEFAULT_MODEL}, "
                             "read from the local cache only)")


def _local_backend(args):
    from . import create_backend

    if args.backend == "esmfold":
        return create_backend("esmfold", weights_dir=args.esm_weights, device=args.device, chunk_size=args.chunk_size)
    return create_backend("hf", model=args.hf_model, device=args.device, chunk_size=args.chunk_size)


def run_fold(args) -> int:
    """Fold one sequence and write it as PDB; returns 1 when folding fails."""
    from ..cli import UsageError
    from . import create_backend
    from .structure import FoldError, validate_sequence

    try:
        sequence = validate_sequence(args.sequence)
        if args.backend == "remote":
            backend = create_backend("remote", url=args.url, timeout=args.timeout,
                                     max_residues=args.max_residues, ca_file=args.ca_file)
        else:
            backend = _local_backend(args)
    except ValueError as error:
        raise UsageError(str(error)) from None

    output = Path(args.output)
    if not output.parent.is_dir():
        raise UsageError(f"cannot write {output}: folder {output.parent} not found")

    try:
        structure = backend.fold(sequence)
    except FoldError as error:
        print(f"sedd fold: error: {error}", file=sys.stderr)
        return EXIT_FOLD_FAILED

    try:
        output.write_text(structure.pdb)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror}") from None

    ptm = "unknown" if structure.ptm is None else f"{structure.ptm:.3f}"
    mean = "unknown" if math.isnan(structure.mean_plddt) else f"{structure.mean_plddt:.1f}"
    print(f"mean pLDDT {mean}  pTM {ptm}  ({len(sequence)} residues, {structure.backend}, "
          f"{structure.seconds:.1f} s)")
    print(f"structure written to {output}", file=sys.stderr)
    return 0


def run_serve_fold(args) -> int:
    """Load the model, then serve folds until interrupted."""
    from ..cli import UsageError
    from .server import FoldServer
    from .structure import FoldError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("sedd.fold_server")

    backend = _local_backend(args)
    log.info("loading %s on %s", backend.name, args.device)
    try:
        backend.load()
    except FoldError as error:
        print(f"sedd serve-fold: error: {error}", file=sys.stderr)
        return EXIT_FOLD_FAILED

    try:
        server = FoldServer(backend, host=args.host, port=args.port, max_residues=args.max_residues,
                            max_waiting=args.max_waiting)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s without authentication: anyone who reaches this port can fold", args.host)
    log.info("serving %s at %s (at most %d residues)", backend.name, server.url, args.max_residues)
    if threading.current_thread() is threading.main_thread():
        # Stop as cleanly on SIGTERM (service managers, CI) as on Ctrl+C.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.server_close()
    return 0


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _port(text: str) -> int:
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is invalid: a TCP port is between 0 and 65535")
    return value
