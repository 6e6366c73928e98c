"""``sedd fold`` and ``sedd serve-fold`` as a user runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from core.cli import main
from core.folding import plddt_from_pdb
from core.folding.esmfold import WEIGHT_FILES
from test_folding_backbone import BackboneBackend
from test_folding_fixtures import TEST_SEQUENCE, tiny_esmfold_dir  # noqa: F401 (fixture)
from test_folding_server import serve  # noqa: F401 (fixture)


def test_fold_hf_writes_pdb_and_prints_scores(tiny_esmfold_dir, tmp_path, capsys):
    output = tmp_path / "fold.pdb"
    status = main(["fold", TEST_SEQUENCE.lower(), "--backend", "hf", "--hf-model", tiny_esmfold_dir,
                   "--device", "cpu", "--output", str(output)])
    captured = capsys.readouterr()

    assert status == 0
    plddt = plddt_from_pdb(output.read_text())
    assert len(plddt) == len(TEST_SEQUENCE)
    mean = sum(plddt) / len(plddt)
    assert f"mean pLDDT {mean:.1f}" in captured.out
    assert "pTM 0." in captured.out
    assert f"structure written to {output}" in captured.err


def test_fold_remote_through_server(serve, tmp_path, capsys):
    server = serve(BackboneBackend(ptm=0.625))
    output = tmp_path / "remote.pdb"
    status = main(["fold", TEST_SEQUENCE, "--backend", "remote", "--url", server.url, "--timeout", "60",
                   "--output", str(output)])
    captured = capsys.readouterr()

    assert status == 0
    assert "mean pLDDT 62.5" in captured.out
    assert "pTM 0.625" in captured.out
    assert "remote" in captured.out
    assert len(plddt_from_pdb(output.read_text())) == len(TEST_SEQUENCE)


def test_fold_remote_failure_exit_1(tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status = main(["fold", "MKV", "--backend", "remote", "--url", f"http://127.0.0.1:{port}/",
                   "--output", str(tmp_path / "x.pdb")])
    captured = capsys.readouterr()
    assert status == 1
    assert "connection refused" in captured.err
    assert not (tmp_path / "x.pdb").exists()


def test_fold_invalid_sequence_exit_2(tmp_path, capsys):
    status = main(["fold", "MKV#", "--backend", "hf", "--output", str(tmp_path / "x.pdb")])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("sedd fold: error: invalid character '#' at position 4")
    assert captured.err.count("\n") == 1


def test_fold_missing_output_folder_exit_2(tmp_path, capsys):
    status = main(["fold", "MKV", "--backend", "hf", "--output", str(tmp_path / "absent" / "x.pdb")])
    assert status == 2
    assert "folder" in capsys.readouterr().err


def test_fold_esmfold_unavailable_exit_1(tmp_path, capsys):
    status = main(["fold", "MKV", "--backend", "esmfold", "--esm-weights", str(tmp_path), "--device", "cpu",
                   "--output", str(tmp_path / "x.pdb")])
    captured = capsys.readouterr()
    assert status == 1
    assert "local ESMFold (fair-esm) cannot run" in captured.err
    for name in WEIGHT_FILES:
        assert name in captured.err


def test_fold_rejects_bad_options(tmp_path):
    for extra in (["--timeout", "0"], ["--max-residues", "-3"], ["--backend", "alphafold"]):
        with pytest.raises(SystemExit) as raised:
            main(["fold", "MKV", "--output", str(tmp_path / "x.pdb"), *extra])
        assert raised.value.code == 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_serve_fold_command_end_to_end(tiny_esmfold_dir, tmp_path):
    port = free_port()
    environment = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "serve-fold", "--backend", "hf", "--hf-model", tiny_esmfold_dir,
         "--device", "cpu", "--port", str(port), "--max-residues", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    assert b'"max_residues": 50' in response.read()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "serve-fold did not start within 60 s"
                time.sleep(0.3)

        output = tmp_path / "served.pdb"
        url = f"http://127.0.0.1:{port}/foldSequence/v1/pdb/"
        assert main(["fold", TEST_SEQUENCE, "--backend", "remote", "--url", url, "--output", str(output)]) == 0
        assert main(["fold", "A" * 60, "--backend", "remote", "--url", url, "--output", str(output)]) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        log, _ = process.communicate(timeout=30)

    assert process.returncode == 0
    assert f"serving hf at http://127.0.0.1:{port}/foldSequence/v1/pdb/" in log
    assert f"{len(TEST_SEQUENCE)} residues" in log
    assert "60 residues is too long" in log
    assert TEST_SEQUENCE not in log
    assert "stopping" in log


def test_serve_fold_port_in_use(tiny_esmfold_dir, capsys):
    with socket.socket() as occupied:
        occupied.bind(("127.0.0.1", 0))
        occupied.listen()
        port = occupied.getsockname()[1]
        status = main(["serve-fold", "--backend", "hf", "--hf-model", tiny_esmfold_dir, "--device", "cpu",
                       "--port", str(port)])
    assert status == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_fold_defaults_to_loopback():
    from core.cli import build_parser

    args = build_parser().parse_args(["serve-fold"])
    assert args.host == "127.0.0.1"
    assert args.backend == "esmfold"
