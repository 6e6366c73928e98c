"""Training of SEDD score networks on a FASTA protein family.

One process or many: under ``torchrun --nproc_per_node=N`` each rank trains on its own
slice of every global batch through DistributedDataParallel (gloo on CPU, NCCL on
CUDA), and only rank 0 writes files.

A run directory contains the checkpoint (config.json, model.safetensors with the EMA
weights) plus the training state for --resume. training_state.safetensors stores the
raw weights, optimizer moments and RNG state, and training_state.json the step and schedule. Everything is
written atomically every --save-every steps and at the end.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import load_file

from .checkpoint import CONFIG_FILE, WEIGHTS_FILE, save_checkpoint
from .data import SPLIT_RULE, encode_all, file_sha256, load_dataset, split_sequences
from .device import resolve_device
from .evaluate import bits_per_residue, elbo_nats
from .loss import score_entropy_loss
from .model import ModelConfig, ScoreNetwork
from .noise import LogLinearNoise, corrupt

STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
EVAL_SEQUENCES = 512


class TrainingError(RuntimeError):
    """Training cannot continue. The message gives the reason and the fix."""


@dataclass
class TrainConfig:
    """Settings of a training run; the command-line flags map one to one onto these fields."""

    data: str
    output: str
    d_model: int = 256
    layers: int = 6
    heads: int = 8
    max_length: int = 130
    time_conditioning: bool = False
    dropout: float = 0.0
    steps: int = 10000
    batch_size: int = 64  # sequences per optimizer step, summed over all ranks
    lr: float = 6e-4
    min_lr_ratio: float = 0.1  # cosine decay ends at lr * min_lr_ratio
    warmup: int = 500
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema: float = 0.999
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    val_fraction: float = 0.05
    eval_every: int = 500
    save_every: int = 500
    compile: bool = False
    half_precision_checkpoint: bool = False
    verbose: bool = False

    def model_config(self) -> ModelConfig:
        return ModelConfig(d_model=self.d_model, n_layers=self.layers, n_heads=self.heads,
                           max_length=self.max_length, dropout=self.dropout,
                           time_conditioning=self.time_conditioning)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warmup to config.lr, then cosine decay to lr * min_lr_ratio at the last step."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    floor = config.lr * config.min_lr_ratio
    return floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * progress))


def batch_indices(step: int, num_sequences: int, batch_size: int, seed: int, rank: int = 0,
                  world_size: int = 1) -> torch.Tensor:
    """Indices of this rank's share of the global batch at ``step``.

    Each epoch is a permutation seeded by (seed, epoch), so the data position after a
    resume follows from the step alone. Rank r takes every world_size-th index.
    """
    per_epoch = max(1, num_sequences // batch_size)
    epoch, offset = divmod(step, per_epoch)
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(num_sequences, generator=generator)
    batch = order[offset * batch_size : (offset + 1) * batch_size]
    return batch[rank::world_size]


def sample_times(batch: int, eps: float, generator: torch.Generator) -> torch.Tensor:
    """Stratified times in [eps, 1]: one uniform offset shared by evenly spaced strata, (batch,)."""
    offset = torch.rand(1, generator=generator)
    return eps + (1 - eps) * ((offset + torch.arange(batch) / batch) % 1.0)


class _Distributed:
    def __init__(self, device_name: str):
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world_size > 1
        if self.enabled:
            device = resolve_device(device_name)
            if device.type == "cuda":
                torch.cuda.set_device(self.local_rank)
                self.device = torch.device("cuda", self.local_rank)
                backend = "nccl"
            else:
                self.device = device
                backend = "gloo"
            dist.init_process_group(backend)
        else:
            self.device = resolve_device(device_name)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def train(config: TrainConfig) -> Path:
    """Train (or resume) a model as configured; return the output directory."""
    distributed = _Distributed(config.device)
    try:
        output = _train(config, distributed)
        # Every rank finishes its collectives before gloo or NCCL tears down its threads.
        distributed.barrier()
        return output
    finally:
        distributed.close()


def _train(config: TrainConfig, distributed: _Distributed) -> Path:
    device = distributed.device
    output = Path(config.output)
    model_config = config.model_config()
    if config.batch_size % distributed.world_size:
        raise TrainingError(f"--batch-size {config.batch_size} is not divisible by {distributed.world_size} "
                            "processes: choose a multiple of the process count")

    dataset = load_dataset(config.data, model_config.max_length - 2)
    train_seqs, val_seqs = split_sequences(dataset.sequences, config.val_fraction)
    if not train_seqs:
        raise TrainingError(f"no training sequences left after the validation split of {config.data}: "
                            "lower --val-fraction or add sequences")
    if distributed.is_main:
        _log(dataset.summary())
        _log(f"split by sequence hash: {len(train_seqs)} training, {len(val_seqs)} validation sequences")
    train_tokens = encode_all(train_seqs, model_config.max_length)
    val_tokens = encode_all(val_seqs[:EVAL_SEQUENCES], model_config.max_length)
    val_residues = torch.tensor([len(s) for s in val_seqs[:EVAL_SEQUENCES]])

    torch.manual_seed(config.seed)
    noise = LogLinearNoise()
    model = ScoreNetwork(model_config).to(device)
    ema = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (decay if parameter.dim() >= 2 and "embedding" not in name else no_decay).append(parameter)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=config.lr, betas=(0.9, 0.98), eps=1e-8)
    start_step = 0
    generator = torch.Generator().manual_seed(config.seed * 7919 + distributed.rank)
    history: list[dict] = []
    if config.resume:
        start_step, history = _load_state(output, model, ema, optimizer, generator, model_config)
        if distributed.is_main:
            _log(f"resumed from {output} at step {start_step}")
    elif (output / STATE_JSON).exists():
        raise TrainingError(f"{output} already contains a training run: pass --resume to continue it "
                            "or choose another --output")

    network = model
    if config.compile:
        network = torch.compile(model)
    if distributed.enabled:
        network = torch.nn.parallel.DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)

    if distributed.is_main:
        _log(f"model: {model.num_parameters() / 1e6:.2f}M parameters, "
             f"{'time-conditioned' if model_config.time_conditioning else 'time-independent'}, "
             f"device {device}, {distributed.world_size} process(es)")
    if config.verbose:
        first = batch_indices(start_step, len(train_seqs), config.batch_size, config.seed,
                              distributed.rank, distributed.world_size)
        _log(f"rank {distributed.rank}/{distributed.world_size}: first batch indices {first.tolist()}")

    metadata = {
        "name": output.name,
        "training": {k: v for k, v in asdict(config).items() if k not in ("resume", "verbose")},
        "data": {"file": Path(config.data).name, "sha256": file_sha256(config.data), "records": dataset.records,
                 "used": len(dataset.sequences), "skipped_invalid": dataset.skipped_invalid,
                 "skipped_too_long": dataset.skipped_too_long},
        "split": {"rule": SPLIT_RULE, "val_fraction": config.val_fraction, "train_sequences": len(train_seqs),
                  "validation_sequences": len(val_seqs)},
        "parameters": model.num_parameters(),
    }
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else _no_autocast()
    progress = _progress_bar(config, start_step, distributed.is_main)
    last_time, tokens_seen = time.perf_counter(), 0
    step = start_step
    started = time.perf_counter()
    model.train()
    for step in range(start_step, config.steps):
        lr = learning_rate(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        indices = batch_indices(step, len(train_seqs), config.batch_size, config.seed,
                                distributed.rank, distributed.world_size)
        x0 = train_tokens[indices]
        t = sample_times(x0.shape[0], noise.eps, generator)
        xt = corrupt(x0, noise.mask_probability(t), generator)
        x0, xt, t = x0.to(device), xt.to(device), t.to(device)
        sigma_bar, rate = noise.total(t), noise.rate(t)
        with autocast:
            log_score = network(xt, sigma_bar)
        loss = score_entropy_loss(log_score, x0, xt, sigma_bar, rate).mean() / model_config.max_length
        if not torch.isfinite(loss):
            raise TrainingError(f"the loss became {loss.item()} at step {step}: training stopped and the last "
                                f"checkpoint in {output} was kept. Lower --lr or raise --warmup and --resume")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        _update_ema(ema, model, min(config.ema, (1 + step) / (10 + step)))
        tokens_seen += x0.numel() * distributed.world_size

        done = step + 1
        if progress is not None and (done % 10 == 0 or done == config.steps):
            now = time.perf_counter()
            progress.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:.2e}",
                                 tok_s=f"{tokens_seen / max(1e-9, now - last_time):.0f}")
            progress.update(done - progress.n)
            last_time, tokens_seen = now, 0
        if distributed.is_main and len(val_tokens) and (done % config.eval_every == 0 or done == config.steps):
            bpr = _validate(model, ema, val_tokens, val_residues, noise, device)
            history.append({"step": done, "val_bits_per_residue": bpr, "loss": loss.item(),
                            "elapsed_s": time.perf_counter() - started})
            _log(f"step {done}: validation ELBO {bpr:.3f} bits per residue")
        if done % config.save_every == 0 or done == config.steps:
            if distributed.is_main:
                _save(output, model, ema, optimizer, generator, noise, metadata, done, history, config)
            distributed.barrier()
    if progress is not None:
        progress.close()
    return output


class _no_autocast:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _progress_bar(config: TrainConfig, start: int, main: bool):
    if not main:
        return None
    from tqdm import tqdm
    return tqdm(total=config.steps, initial=start, desc="training", unit="step", file=sys.stderr,
                mininterval=5.0, dynamic_ncols=True)


@torch.no_grad()
def _update_ema(ema: dict, model: ScoreNetwork, decay: float) -> None:
    for name, value in model.state_dict().items():
        if value.dtype.is_floating_point:
            ema[name].mul_(decay).add_(value.detach().float(), alpha=1 - decay)
        else:
            ema[name].copy_(value)


def _ema_model(model: ScoreNetwork, ema: dict) -> ScoreNetwork:
    copy = ScoreNetwork(model.config).to(next(model.parameters()).device)
    copy.load_state_dict(ema)
    return copy.eval()


def _validate(model, ema, val_tokens, val_residues, noise, device) -> float:
    nats = elbo_nats(_ema_model(model, ema), val_tokens, noise, grid=8, seed=0, device=device)
    return bits_per_residue(nats, val_residues)[0]


def _save(output: Path, model, ema, optimizer, generator, noise, metadata, step, history, config) -> None:
    state_tensors = {f"weights.{k}": v for k, v in model.state_dict().items()}
    optimizer_state = optimizer.state_dict()
    for index, state in optimizer_state["state"].items():
        for key, value in state.items():
            state_tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value).float() if key == "step" else value
    state_tensors["rng.generator"] = generator.get_state()
    state_tensors["rng.torch"] = torch.get_rng_state()
    state_json = {"step": step, "param_groups": optimizer_state["param_groups"], "history": history,
                  "config": asdict(config)}
    ema_model = _ema_model(model, ema)
    save_checkpoint(output, ema_model, noise, {**metadata, "steps": step, "history": history},
                    half_precision=config.half_precision_checkpoint,
                    extra_files={STATE_TENSORS: state_tensors}, extra_json={STATE_JSON: state_json})


def _load_state(output: Path, model, ema, optimizer, generator, model_config: ModelConfig) -> tuple[int, list]:
    state_json_path, tensors_path = output / STATE_JSON, output / STATE_TENSORS
    if not state_json_path.is_file() or not tensors_path.is_file():
        raise TrainingError(f"--resume: no training state in {output} ({STATE_JSON} and {STATE_TENSORS} "
                            "missing): start without --resume")
    saved_model = json.loads((output / CONFIG_FILE).read_text())["model"]
    if saved_model != model_config.to_dict():
        raise TrainingError(f"--resume: the model flags differ from the run in {output} ({saved_model}): "
                            "use the same --d-model, --layers, --heads, --max-length and time conditioning")
    state = json.loads(state_json_path.read_text())
    tensors = load_file(str(tensors_path))
    model.load_state_dict({k[len("weights."):]: v for k, v in tensors.items() if k.startswith("weights.")})
    ema_weights = load_file(str(output / WEIGHTS_FILE))
    for name in ema:
        ema[name].copy_(ema_weights[name].float())
    optimizer_state = {"state": {}, "param_groups": state["param_groups"]}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, field_name = key.split(".", 2)
            optimizer_state["state"].setdefault(int(index), {})[field_name] = value
    optimizer.load_state_dict(optimizer_state)
    generator.set_state(tensors["rng.generator"])
    torch.set_rng_state(tensors["rng.torch"])
    return int(state["step"]), state.get("history", [])
