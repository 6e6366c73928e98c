"""The ``sedd`` command line: infill, train, eval, export, fold and serve-fold."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

EXIT_USAGE = 2


class UsageError(Exception):
    """Invalid input from the user: printed as one line, exit status 2."""


def _integer_at_least(minimum: int):
    """Return an argparse type that accepts whole numbers of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is invalid: use a whole number of at least {minimum}")
        return value

    return parse


positive_int = _integer_at_least(1)
non_negative_int = _integer_at_least(0)


def positive_float(text: str) -> float:
    """Parse a finite number above 0 for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} is invalid: use a finite number above 0")
    return value


def _fraction(text: str) -> float:
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text} is invalid: use a fraction between 0 and 1")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from .checkpoint import DEFAULT_CHECKPOINT

    parser = _Parser(prog="sedd", description="Score Entropy Discrete Diffusion for protein sequences.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    infill = commands.add_parser(
        "infill", help="fill masked spans of a protein sequence",
        description="Fill the masked spans of PROMPT and write the candidates as FASTA. Prompt syntax: letters "
                    "are fixed residues, '_' is one masked residue, [n] is n masked residues, [a-b] a span of "
                    "a to b residues (length drawn per candidate), {ST} one residue chosen from S and T.",
        epilog="Each FASTA header carries the candidate number, the seed and score=: the mean log-probability "
               "(natural log, per filled residue) that the model gave each filled residue when it was "
               "unmasked. Higher (closer to 0) means more typical of the training family.")
    infill.add_argument("prompt", help="sequence with masked spans, e.g. MKV[5-8]GL{ST}E")
    infill.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT),
                        help="checkpoint directory (default: the shipped AcyP model)")
    infill.add_argument("-n", "--num-candidates", type=positive_int, default=4, help="candidates (default 4)")
    infill.add_argument("--steps", type=positive_int, default=128, help="denoising steps (default 128)")
    infill.add_argument("--temperature", type=positive_float, default=1.0,
                        help="sampling temperature; below 1 favours likely residues (default 1.0)")
    infill.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    infill.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    infill.add_argument("--output", help="FASTA file to write (default: standard output)")

    train = commands.add_parser("train", help="train a model on a FASTA protein family",
                                description="Train a SEDD model. Under torchrun --nproc_per_node=N the "
                                            "global batch is split over N processes.")
    train.add_argument("--data", required=True, help="FASTA file (plain or .gz)")
    train.add_argument("--output", required=True, help="run directory for the checkpoint")
    train.add_argument("--d-model", type=positive_int, default=256, help="width (default 256)")
    train.add_argument("--layers", type=positive_int, default=6, help="transformer blocks (default 6)")
    train.add_argument("--heads", type=positive_int, default=8, help="attention heads (default 8)")
    train.add_argument("--max-length", type=positive_int, default=130,
                       help="tokens per sequence, BOS and EOS included (default 130)")
    train.add_argument("--time-conditioning", action=argparse.BooleanOptionalAction, default=False,
                       help="condition the network on the noise level (default: time-independent)")
    train.add_argument("--dropout", type=float, default=0.0, help="dropout rate (default 0)")
    train.add_argument("--steps", type=positive_int, default=10000, help="optimizer steps (default 10000)")
    train.add_argument("--batch-size", type=positive_int, default=64,
                       help="sequences per step over all processes (default 64)")
    train.add_argument("--lr", type=positive_float, default=6e-4, help="peak learning rate (default 6e-4)")
    train.add_argument("--warmup", type=positive_int, default=500, help="linear warmup steps (default 500)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    train.add_argument("--resume", action="store_true", help="continue the run in --output")
    train.add_argument("--val-fraction", type=_fraction, default=0.05,
                       help="fraction of distinct sequences held out (default 0.05)")
    train.add_argument("--eval-every", type=positive_int, default=500, help="steps between validations")
    train.add_argument("--save-every", type=positive_int, default=500, help="steps between checkpoints")
    train.add_argument("--compile", action="store_true", help="use torch.compile")
    train.add_argument("--verbose", action="store_true", help="log each process's first batch")

    evaluate = commands.add_parser("eval", help="measure a model: ELBO in bits per residue and infill recovery")
    evaluate.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="checkpoint directory")
    evaluate.add_argument("--data", required=True, help="FASTA file to evaluate on")
    evaluate.add_argument("--split", choices=("all", "validation", "train"), default="all",
                          help="evaluate only on the checkpoint's validation or training split (default all)")
    evaluate.add_argument("--max-sequences", type=positive_int, default=2000,
                          help="sequences for the ELBO (default 2000)")
    evaluate.add_argument("--recovery-sequences", type=positive_int, default=200,
                          help="sequences for infill recovery (default 200)")
    evaluate.add_argument("--grid", type=positive_int, default=16, help="time points of the ELBO (default 16)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")

    export = commands.add_parser("export", help="copy a checkpoint without training state, optionally in float16")
    export.add_argument("source", help="run directory")
    export.add_argument("destination", help="new checkpoint directory")
    export.add_argument("--half", action="store_true", help="store weights in float16")
    export.add_argument("--name", help="model name shown in the GUI")

    from .folding.cli import add_fold_commands
    add_fold_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"infill": _infill, "train": _train, "eval": _eval, "export": _export}
    handler = handlers.get(args.command) or getattr(args, "handler", None)
    try:
        return handler(args) or 0
    except UsageError as error:
        print(f"sedd {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"sedd {args.command}: interrupted", file=sys.stderr)
        return 130


def _user_errors():
    from .alphabet import AlphabetError
    from .checkpoint import CheckpointError
    from .data import DataError
    from .prompt import PromptError
    from .train import TrainingError
    return (AlphabetError, CheckpointError, DataError, PromptError, TrainingError, ValueError)


def _load(checkpoint: str, device_name: str):
    from .checkpoint import CheckpointError, load_checkpoint
    from .device import resolve_device
    try:
        device = resolve_device(device_name)
        return load_checkpoint(checkpoint, device), device
    except (CheckpointError, ValueError) as error:
        raise UsageError(str(error)) from None


def _infill(args) -> int:
    from .infill import infill
    from .prompt import PromptError

    loaded, device = _load(args.checkpoint, args.device)
    try:
        result = infill(loaded, args.prompt, num_candidates=args.num_candidates, steps=args.steps,
                        temperature=args.temperature, seed=args.seed, device=device)
    except PromptError as error:
        raise UsageError(f"invalid prompt at {error}") from None
    lines = []
    for candidate in result.candidates:
        lines.append(f">candidate_{candidate.index} seed={result.seed} score={candidate.score:.4f} "
                     f"length={candidate.length} filled={len(candidate.filled)}")
        lines.extend(candidate.sequence[i : i + 60] for i in range(0, len(candidate.sequence), 60))
    text = "\n".join(lines) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as error:
            raise UsageError(f"cannot write {args.output}: {error.strerror}") from None
    else:
        sys.stdout.write(text)
    return 0


def _train(args) -> int:
    from .train import TrainConfig, train

    config = TrainConfig(data=args.data, output=args.output, d_model=args.d_model, layers=args.layers,
                         heads=args.heads, max_length=args.max_length, time_conditioning=args.time_conditioning,
                         dropout=args.dropout, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         warmup=args.warmup, seed=args.seed, device=args.device, resume=args.resume,
                         val_fraction=args.val_fraction, eval_every=args.eval_every, save_every=args.save_every,
                         compile=args.compile, verbose=args.verbose)
    try:
        output = train(config)
    except _user_errors() as error:
        raise UsageError(str(error)) from None
    if os.environ.get("RANK", "0") == "0":
        print(f"checkpoint written to {output}", file=sys.stderr)
    return 0


def _eval(args) -> int:
    from .data import DataError, is_validation, load_dataset
    from .evaluate import evaluate

    loaded, device = _load(args.checkpoint, args.device)
    try:
        dataset = load_dataset(args.data, loaded.max_residues)
    except DataError as error:
        raise UsageError(str(error)) from None
    sequences = dataset.sequences
    if args.split != "all":
        fraction = loaded.metadata.get("split", {}).get("val_fraction")
        if fraction is None:
            raise UsageError(f"{args.checkpoint} records no validation split: use --split all")
        sequences = [s for s in sequences if is_validation(s, fraction) == (args.split == "validation")]
    sequences = list(dict.fromkeys(sequences))[: args.max_sequences]
    if not sequences:
        raise UsageError(f"no sequences of {args.data} are in the {args.split} split")
    result = evaluate(loaded, sequences, grid=args.grid, recovery_sequences=args.recovery_sequences, device=device)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.report())
    return 0


def _export(args) -> int:
    from .checkpoint import load_checkpoint, save_checkpoint

    loaded, _ = _load(args.source, "cpu")
    metadata = dict(loaded.metadata)
    if args.name:
        metadata["name"] = args.name
    save_checkpoint(args.destination, loaded.model, loaded.noise, metadata, half_precision=args.half)
    check = load_checkpoint(args.destination)
    print(f"exported {check.name} to {args.destination}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
