"""The ``sedd`` command line, run as a user runs it: in a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.data import read_fasta
from test_training import write_family

REPO = Path(__file__).resolve().parent.parent


def run_sedd(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def test_infill_writes_fasta_with_scores(tiny_checkpoint):
    done = run_sedd("infill", "MKV[5]GL{ST}E", "--checkpoint", str(tiny_checkpoint), "-n", "3", "--steps", "16",
                    "--seed", "7", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    headers = [line for line in lines if line.startswith(">")]
    assert len(headers) == 3
    assert headers[0].startswith(">candidate_1 seed=7 score=")
    sequences = [line for line in lines if not line.startswith(">")]
    for sequence in sequences:
        assert sequence.startswith("MKV")
        assert sequence[8:10] == "GL"
        assert sequence[10] in "ST"
        assert sequence.endswith("E")
        assert len(sequence) == 12


def test_infill_output_file_and_reproducibility(tiny_checkpoint, tmp_path):
    args = ["infill", "M[3-8]K", "--checkpoint", str(tiny_checkpoint), "-n", "4", "--steps", "8", "--seed", "3"]
    assert main(args + ["--output", str(tmp_path / "a.fasta")]) == 0
    assert main(args + ["--output", str(tmp_path / "b.fasta")]) == 0
    first = read_fasta(tmp_path / "a.fasta")
    assert [r.sequence for r in first] == [r.sequence for r in read_fasta(tmp_path / "b.fasta")]
    assert len(first) == 4


@pytest.mark.parametrize("args, fragment", [
    (["MK[0]A"], "invalid prompt at position 3: [0] masks no residue"),
    (["MKB"], "position 3: B (D or N) is ambiguous"),
    (["M" * 60], "this model allows at most 46"),
    (["MK_", "--device", "tpu"], "unknown device 'tpu'"),
    (["MK_", "--temperature", "0"], "argument --temperature: 0 is invalid"),
    (["MK_", "--steps", "-3"], "argument --steps: -3 is invalid"),
    (["MK_", "-n", "many"], "invalid integer 'many'"),
])
def test_infill_bad_input_exits_2_with_one_line(tiny_checkpoint, args, fragment):
    done = run_sedd("infill", *args[:1], "--checkpoint", str(tiny_checkpoint), *args[1:])
    assert done.returncode == 2
    assert fragment in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_infill_missing_checkpoint(tmp_path):
    done = run_sedd("infill", "MK_", "--checkpoint", str(tmp_path / "none"))
    assert done.returncode == 2
    assert "checkpoint directory not found" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_infill_unwritable_output(tiny_checkpoint, tmp_path):
    done = run_sedd("infill", "MK_", "--checkpoint", str(tiny_checkpoint), "--steps", "2",
                    "--output", str(tmp_path / "no" / "such" / "dir.fasta"))
    assert done.returncode == 2
    assert "cannot write" in done.stderr


def test_eval_json_has_required_keys(tiny_checkpoint, tmp_path, capsys):
    data = write_family(tmp_path / "f.fasta", count=12)
    code = main(["eval", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--json", "--grid", "2",
                 "--recovery-sequences", "4", "--device", "cpu"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("bits_per_residue", "bits_per_residue_stderr", "infill_recovery", "infill_recovery_t1",
                "sequences", "baseline_frequency_entropy_bits", "baseline_frequency_recovery"):
        assert key in result
    assert result["sequences"] == 12


def test_eval_bad_fasta_exits_2(tiny_checkpoint, tmp_path):
    (tmp_path / "empty.fasta").write_text("")
    done = run_sedd("eval", "--checkpoint", str(tiny_checkpoint), "--data", str(tmp_path / "empty.fasta"))
    assert done.returncode == 2
    assert "contains no FASTA records" in done.stderr


def test_train_bad_fasta_exits_2(tmp_path):
    done = run_sedd("train", "--data", str(tmp_path / "absent.fasta"), "--output", str(tmp_path / "run"))
    assert done.returncode == 2
    assert "FASTA file not found" in done.stderr
    assert not (tmp_path / "run").exists()


def test_export_half_precision(tiny_checkpoint, tmp_path):
    assert main(["export", str(tiny_checkpoint), str(tmp_path / "exported"), "--half", "--name", "small"]) == 0
    done = run_sedd("infill", "MK[4]", "--checkpoint", str(tmp_path / "exported"), "--steps", "4")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "exported" / "config.json").read_text())["name"] == "small"
