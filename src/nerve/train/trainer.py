"""Fine-tune a BERT-family encoder for token classification (first or every sub-word labelled).

Deterministic for a seed on CPU: seeded torch/python RNGs and a seeded batch order.
The best epoch on dev is kept and written atomically (see ``output.py``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from ..data.conll import Sentence, read_conll
from ..encoder.modules import TokenClassifier
from ..encoder.weights import load_model
from ..engine.batching import pad_rows
from ..errors import DataError, InvalidInput, ModelLoadError, NerveError
from ..eval.scoring import score
from ..loader import check_device
from ..model.spec import MODEL_TYPE_TO_ARCH, SUPPORTED_ARCHITECTURES, encoder_config, read_json
from ..text.loading import load_tokenizer
from .augment import negatives, symbol_noise
from .features import IGNORE, Feature, batches, encode_sentence, joined_runs, label_set
from .output import check_out_dir, write_model_dir

# Families whose nerve module the trainer fine-tunes (the BERT-style TokenClassifier).
TRAINABLE_FAMILIES = ("bert", "distilbert", "roberta")


@dataclass
class TrainConfig:
    base: Path
    train: Path
    dev: Path
    out: Path
    epochs: int = 5
    lr: float = 1e-4
    batch_size: int = 32
    seed: int = 0
    max_length: int = 128
    device: str = "cpu"
    weight_decay: float = 0.01
    warmup: float = 0.1
    dropout: float = 0.1
    save_dtype: str = "float32"
    # Also train on runs of consecutive sentences joined up to max_length (running text).
    joined: bool = False
    # Label continuation pieces too (I- of the word's entity), so that the pipeline's
    # strategies give whole words; see ``features.encode_sentence``.
    label_all_pieces: bool = False
    # Augmentation (``augment.py``): a fraction of sentences copied with symbols inserted, and
    # a number of short entity-free runs of words as negatives.
    symbol_noise: float = 0.0
    negatives: int = 0
    # bfloat16 autocast on CPU too (always on CUDA): about 2x faster where the CPU has
    # AVX-512 BF16 (measured on this project's AMD EPYC), weights and optimizer stay float32.
    bf16: bool = False
    # Continue from a token-classification model with the same labels: keep its classifier
    # head instead of a fresh one (a second stage on top of a finished run).
    keep_head: bool = False
    # For quick runs and tests: use only the first N train/dev sentences, stop after N steps.
    limit_train: int | None = None
    limit_dev: int | None = None
    max_steps: int | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        # Checked before any data or weights are read: a typo fails in a second, not an hour.
        for name in ("epochs", "batch_size", "limit_train", "limit_dev", "max_steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InvalidInput(f"{_flag(name)} must be a positive integer, got {value!r}")
        if not isinstance(self.max_length, int) or self.max_length < 8:
            raise InvalidInput(f"--max-length must be an integer >= 8, got {self.max_length!r}")
        # `not x > 0` also refuses NaN; infinity passed it and trained every weight to NaN.
        if not 0 < self.lr <= MAX_LR:
            raise InvalidInput(f"--lr must be above 0 and at most {MAX_LR:g}, got {self.lr!r}")
        if not 0 <= self.weight_decay <= MAX_WEIGHT_DECAY:
            raise InvalidInput(
                f"--weight-decay must be in [0, {MAX_WEIGHT_DECAY:g}], got {self.weight_decay!r}"
            )
        if not isinstance(self.negatives, int) or self.negatives < 0:
            raise InvalidInput(f"--negatives must be an integer >= 0, got {self.negatives!r}")
        for name in ("warmup", "dropout", "symbol_noise"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise InvalidInput(f"{_flag(name)} must be in [0, 1), got {value!r}")

    def to_dict(self) -> dict[str, object]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


# Above these a fine-tune diverges at once (the weights go non-finite in a step or two); the
# bounds are far above any useful value (1e-5..1e-3 and 0..0.1), so they only catch mistakes.
MAX_LR = 1.0
MAX_WEIGHT_DECAY = 10.0


class TrainingDiverged(NerveError):
    """The loss went non-finite: the weights are lost, and no model is written."""

    code = "training_diverged"


@dataclass
class TrainResult:
    out: Path
    labels: tuple[str, ...]
    best_epoch: int
    dev_f1: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _base_family(base: Path) -> tuple[dict[str, Any], str]:
    """The base's config.json and encoder family, refused when nerve cannot fine-tune it."""
    config = read_json(base / "config.json")
    model_type = str(config.get("model_type"))
    arch = MODEL_TYPE_TO_ARCH.get(model_type)
    if arch is None:
        raise ModelLoadError(
            f"{base}: model_type {model_type!r} cannot be fine-tuned by nerve; "
            f"supported: {', '.join(sorted(MODEL_TYPE_TO_ARCH))}"
        )
    family = SUPPORTED_ARCHITECTURES[arch]
    if family not in TRAINABLE_FAMILIES:
        raise ModelLoadError(
            f"{base}: model_type {model_type!r} runs in nerve but cannot be fine-tuned by it; "
            f"nerve train supports {', '.join(TRAINABLE_FAMILIES)} encoders"
        )
    return config, family


def _check_length(base: Path, max_length: int) -> None:
    """--max-length within the base's position table: past it the encoder indexes beyond
    its position embeddings (a traceback mid-training), and the trained model's
    tokenizer_config.json would promise windows the model cannot run."""
    config, family = _base_family(base)
    limit = encoder_config(config, family, 1).max_tokens
    if max_length > limit:
        raise InvalidInput(
            f"--max-length {max_length} is longer than the base model can read: {limit} "
            f"tokens ({base}/config.json max_position_embeddings); give at most {limit}"
        )


def _base_encoder(
    base: Path, labels: Sequence[str], dropout: float, keep_head: bool = False
) -> TokenClassifier:
    num_labels = len(labels)
    config, family = _base_family(base)
    cfg = encoder_config(config, family, num_labels)
    if keep_head:
        id2label = config.get("id2label") or {}
        base_labels = [id2label.get(str(i)) for i in range(len(id2label))]
        if base_labels != list(labels):
            raise ModelLoadError(
                f"{base}: --keep-head needs the base's labels {base_labels} to equal the "
                f"training data's {list(labels)}"
            )
        return load_model(base, cfg, with_head=True, dropout=dropout)
    model = load_model(base, cfg, with_head=False, dropout=dropout)
    # A fresh head, initialised as BERT does (normal, std = initializer_range).
    std = float(config.get("initializer_range", 0.02))
    torch.nn.init.normal_(model.classifier.weight, std=std)
    torch.nn.init.zeros_(model.classifier.bias)
    return model


def _features(
    sents: Sequence[Sentence],
    tok: Tokenizer,
    label_ids: dict[str, int],
    max_length: int,
    label_all_pieces: bool = False,
) -> list[Feature]:
    return [
        encode_sentence(tok, s.words, s.tags, label_ids, max_length, label_all_pieces)
        for s in sents
    ]


def _optimizer(model: TokenClassifier, cfg: TrainConfig) -> torch.optim.AdamW:
    # No weight decay on biases and LayerNorm weights, as in BERT's recipe.
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for p in model.parameters():
        (no_decay if p.ndim < 2 else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def _linear_schedule(total: int, warmup: float) -> Callable[[int], float]:
    warm = max(1, int(total * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    return factor


def _inputs(
    feats: Sequence[Feature], idx: Sequence[int], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    ids, mask = pad_rows([feats[i].ids for i in idx], pad_id)
    return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)


def predict_tags(
    model: TokenClassifier,
    feats: Sequence[Feature],
    n_words: Sequence[int],
    labels: Sequence[str],
    device: torch.device,
    batch_size: int = 128,
) -> list[list[str]]:
    """Label of each word's first sub-word ("O" for words cut by max_length)."""
    model.eval()
    label_arr = np.asarray(labels, dtype=object)
    out: list[list[str]] = [[] for _ in feats]
    with torch.inference_mode():
        for idx in batches([len(f.ids) for f in feats], batch_size, None):
            ids, mask = _inputs(feats, idx, model.cfg.pad_token_id, device)
            pred = model(ids, mask).float().argmax(-1).cpu().numpy()  # [batch, seq]
            for row, i in enumerate(idx):
                first = feats[i].word_first
                tags = np.full(n_words[i], "O", dtype=object)
                tags[first >= 0] = label_arr[pred[row, first[first >= 0]]]
                out[i] = list(tags)
    return out


def _read(path: Path, limit: int | None) -> list[Sentence]:
    sents = read_conll(path)
    if not sents:
        raise DataError(f"{path}: no sentences found")
    return sents[:limit] if limit else sents


def train(
    cfg: TrainConfig, log: Callable[[str], None] = print, progress: bool = True
) -> TrainResult:
    from tqdm import tqdm

    started = time.perf_counter()
    check_out_dir(cfg.out, cfg.overwrite)  # fail now, not after an hour of training
    check_device(cfg.device)
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInput(f"--device {cfg.device}: CUDA is not available to this torch")
    _check_length(cfg.base, cfg.max_length)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    device = torch.device(cfg.device)
    train_s, dev_s = _read(cfg.train, cfg.limit_train), _read(cfg.dev, cfg.limit_dev)
    labels = label_set(train_s)
    label_ids = {t: i for i, t in enumerate(labels)}
    unknown = sorted(
        {t for s in dev_s for t in s.tags}
        - set(labels)
        - {"I-" + t[2:] for t in labels if t.startswith("B-")}
    )
    if unknown:
        raise DataError(f"{cfg.dev}: tags {unknown} never occur in {cfg.train}")
    tok = load_tokenizer(cfg.base)
    runs = joined_runs(train_s, tok, cfg.max_length) if cfg.joined else []
    if runs:
        log(f"training on {len(train_s)} sentences and {len(runs)} runs of joined sentences")
    aug_rng = random.Random(cfg.seed + 1)  # its own stream: augmenting leaves batch order alone
    noisy = symbol_noise([*train_s, *runs], aug_rng, cfg.symbol_noise)
    empty = negatives(train_s, aug_rng, cfg.negatives)
    if noisy or empty:
        log(f"augmented: {len(noisy)} copies with symbols, {len(empty)} entity-free runs")
    train_f = _features(
        [*train_s, *runs, *noisy, *empty], tok, label_ids, cfg.max_length, cfg.label_all_pieces
    )
    dev_f = _features(dev_s, tok, label_ids, cfg.max_length)
    model = _base_encoder(cfg.base, labels, cfg.dropout, cfg.keep_head).to(device)
    opt = _optimizer(model, cfg)
    steps_per_epoch = math.ceil(len(train_f) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else cfg.max_steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _linear_schedule(total, cfg.warmup))
    autocast = device.type == "cuda" or cfg.bf16
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    result = TrainResult(cfg.out, labels, best_epoch=0)
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = batches([len(f.ids) for f in train_f], cfg.batch_size, rng)
        bar = tqdm(order, desc=f"epoch {epoch}/{cfg.epochs}", disable=not progress, unit="batch")
        for idx in bar:
            if step >= total:
                break
            ids, mask = _inputs(train_f, idx, model.cfg.pad_token_id, device)
            target = torch.from_numpy(pad_rows([train_f[i].labels for i in idx], IGNORE)[0])
            target = target.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = model(ids, mask)
            loss = torch.nn.functional.cross_entropy(
                logits.float().view(-1, len(labels)), target.view(-1), ignore_index=IGNORE
            )
            if not torch.isfinite(loss):
                # Diverged: every later step, and the model written, would be NaN.
                raise TrainingDiverged(
                    f"the training loss is {loss.item()} at step {step + 1} (epoch {epoch}): "
                    f"training diverged; lower --lr (now {cfg.lr:g}); nothing was written"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            bar.set_postfix(loss=f"{loss.item():.4f}")
        pred = predict_tags(model, dev_f, [len(s.words) for s in dev_s], labels, device)
        f1 = score([list(s.tags) for s in dev_s], pred).micro.f1
        result.dev_f1.append(f1)
        log(f"epoch {epoch}: dev F1 {f1:.4f}")
        if best is None or f1 > best[0]:
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best = (f1, epoch, state)
        if step >= total:
            break
    assert best is not None
    model.load_state_dict(best[2])
    result.best_epoch = best[1]
    result.seconds = time.perf_counter() - started
    write_model_dir(model.cpu(), cfg, labels, tok, result)
    log(f"best epoch {best[1]} (dev F1 {best[0]:.4f}) written to {cfg.out}")
    return result
