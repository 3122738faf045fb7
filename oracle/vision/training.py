"""Training recipe for the damage model (torchvision references/classification style: load_data,
train_one_epoch, evaluate, main)."""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2 as T
from tqdm import tqdm

from oracle.domain import CLASSES
from oracle.vision import data as vdata
from oracle.vision import metrics
from oracle.vision.images import INPUT_SIZE, MEAN, PAD_VALUE, STD, decode, encode_jpeg, letterbox
from oracle.vision.network import DamageNet, native_input_size
from oracle.vision.options import add_train_arguments

CACHE_SHORT_SIDE = 320  # photos are cached in memory at most this short side: enough for crops at 224
LETTERBOX_MIN_SCALE = 0.4  # smallest share of a photo a letterboxed training crop keeps
ZOOM_OUT_AREA = (0.1, 0.5)  # share of a zoomed-out scene's area the photo covers


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so a run is reproducible on the same machine."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class RandomJPEG:
    """Re-encode the photo as JPEG at a random quality, as claim photos pass through phones and messengers."""

    def __init__(self, quality: tuple[int, int] = (25, 95)):
        """Set the quality range."""
        self.quality = quality

    def __call__(self, img: Image.Image) -> Image.Image:
        """Return the re-encoded photo."""
        q = int(torch.randint(self.quality[0], self.quality[1] + 1, ()).item())
        return Image.open(io.BytesIO(encode_jpeg(img, q))).convert("RGB")


class RandomResolution:
    """Downscale then upscale back, so the model does not learn image resolution as a shortcut."""

    def __init__(self, scale: tuple[float, float] = (0.25, 0.8)):
        """Set the range of the intermediate scale."""
        self.scale = scale

    def __call__(self, img: Image.Image) -> Image.Image:
        """Return the resampled photo."""
        s = float(torch.empty(()).uniform_(*self.scale))
        w, h = img.size
        small = img.resize((max(8, int(w * s)), max(8, int(h * s))), Image.Resampling.BILINEAR)
        return small.resize((w, h), Image.Resampling.BILINEAR)


class RandomLetterbox:
    """Crop a random non-square region and letterbox it, exactly as serving treats wide or tall photos."""

    def __init__(
        self,
        size: int,
        aspect: tuple[float, float] = (0.5, 2.0),
        scale: tuple[float, float] = (LETTERBOX_MIN_SCALE, 1.0),
    ):
        """Set output size, aspect ratio and area ranges."""
        self.size, self.aspect, self.scale = size, aspect, scale

    def __call__(self, img: Image.Image) -> Image.Image:
        """Return a size x size letterboxed crop."""
        w, h = img.size
        area = w * h * float(torch.empty(()).uniform_(*self.scale))
        ratio = math.exp(float(torch.empty(()).uniform_(math.log(self.aspect[0]), math.log(self.aspect[1]))))
        cw = min(w, max(8, int(round(math.sqrt(area * ratio)))))
        ch = min(h, max(8, int(round(math.sqrt(area / ratio)))))
        x = int(torch.randint(0, w - cw + 1, ()).item())
        y = int(torch.randint(0, h - ch + 1, ()).item())
        return letterbox(img.crop((x, y, x + cw, y + ch)), self.size)[0]


class ZoomOut:
    """Paste the photo small into a wide scene cut from an undamaged car's photo, then letterbox it as serving does:
    a claim photo taken from a step back, where the damage is a small part of a large frame with background."""

    def __init__(self, size: int, backgrounds: list[Image.Image], area: tuple[float, float] = ZOOM_OUT_AREA):
        """Set the output size, the pool of background photos (undamaged cars only) and the photo's share of the
        scene's area."""
        if not backgrounds:
            raise ValueError("ZoomOut needs at least one background photo")
        self.size, self.backgrounds, self.area = size, backgrounds, area

    def __call__(self, img: Image.Image) -> Image.Image:
        """Return the photo inside a random scene, letterboxed to size x size."""
        bg = self.backgrounds[int(torch.randint(0, len(self.backgrounds), ()).item())]
        aspect = math.exp(float(torch.empty(()).uniform_(-math.log(16 / 9), math.log(16 / 9))))
        bw, bh = bg.size
        cw, ch = (bw, min(bh, round(bw / aspect))) if bw / bh < aspect else (min(bw, round(bh * aspect)), bh)
        x = int(torch.randint(0, bw - cw + 1, ()).item())
        y = int(torch.randint(0, bh - ch + 1, ()).item())
        grow = CACHE_SHORT_SIDE / min(cw, ch)
        scene = bg.crop((x, y, x + cw, y + ch)).resize((round(cw * grow), round(ch * grow)), Image.Resampling.BILINEAR)
        sw, sh = scene.size
        share = float(torch.empty(()).uniform_(*self.area))
        f = min(math.sqrt(share * sw * sh / (img.size[0] * img.size[1])), sw / img.size[0], sh / img.size[1])
        pw, ph = max(8, round(img.size[0] * f)), max(8, round(img.size[1] * f))
        px = int(torch.randint(0, sw - pw + 1, ()).item())
        py = int(torch.randint(0, sh - ph + 1, ()).item())
        scene.paste(img.resize((pw, ph), Image.Resampling.BILINEAR), (px, py))
        return letterbox(scene, self.size)[0]


class Blur:
    """Gaussian blur with a random radius (out-of-focus phone photos)."""

    def __call__(self, img: Image.Image) -> Image.Image:
        """Return the blurred photo."""
        return img.filter(ImageFilter.GaussianBlur(float(torch.empty(()).uniform_(0.3, 1.6))))


class MotionBlur:
    """Blur along a random line through the centre of a 5 x 5 kernel (a hand that moved while the shutter was open)."""

    KERNELS = (
        [0] * 10 + [1] * 5 + [0] * 10,  # horizontal
        [1 if i % 5 == 2 else 0 for i in range(25)],  # vertical
        [1 if i % 6 == 0 else 0 for i in range(25)],  # diagonal
        [1 if i % 4 == 0 and 0 < i < 24 else 0 for i in range(25)],  # anti-diagonal
    )

    def __call__(self, img: Image.Image) -> Image.Image:
        """Return the blurred photo."""
        kernel = self.KERNELS[int(torch.randint(0, len(self.KERNELS), ()).item())]
        return img.filter(ImageFilter.Kernel((5, 5), kernel, scale=5))


def train_transform(
    size: int,
    crop_scale: float,
    backgrounds: list[Image.Image] | None = None,
    zoom_out: float = 0.0,
    phone: bool = False,
) -> T.Compose:
    """Return the training augmentation: scale, crop, letterbox or (with `zoom_out`) zoom out into a scene, flip,
    colour, blur, resolution and JPEG, and with `phone` also perspective, motion blur, sharpening and sensor noise;
    crops keep at least `crop_scale` of the photo's area."""
    framings: list = [
        T.RandomResizedCrop(size, scale=(crop_scale, 1.0), antialias=True),
        RandomLetterbox(size, scale=(max(LETTERBOX_MIN_SCALE, crop_scale), 1.0)),
    ]
    weights = [0.75 * (1.0 - zoom_out), 0.25 * (1.0 - zoom_out)]
    if zoom_out > 0:
        framings.append(ZoomOut(size, backgrounds or []))
        weights.append(zoom_out)
    blur = T.RandomApply([T.RandomChoice([Blur(), MotionBlur()], p=[0.6, 0.4])], p=0.2) if phone else None
    return T.Compose(
        [
            T.RandomChoice(framings, p=weights),
            T.RandomHorizontalFlip(),
            *([T.RandomApply([T.RandomPerspective(0.3, p=1.0, fill=PAD_VALUE)], p=0.2)] if phone else []),
            T.RandomApply([T.ColorJitter(0.35, 0.35, 0.3, 0.04)], p=0.8),
            T.RandomGrayscale(p=0.05),
            blur or T.RandomApply([Blur()], p=0.15),
            *([T.RandomAdjustSharpness(2.0, p=0.15)] if phone else []),
            T.RandomApply([RandomResolution()], p=0.25),
            T.RandomApply([RandomJPEG()], p=0.35),
            T.PILToTensor(),
            T.ToDtype(torch.float32, scale=True),
            *([T.RandomApply([T.GaussianNoise(sigma=0.02)], p=0.2)] if phone else []),
            T.Normalize(MEAN, STD),
        ]
    )


def eval_transform(size: int = INPUT_SIZE) -> T.Compose:
    """Return the evaluation preprocessing, identical to serving: letterbox to a square, normalise."""
    return T.Compose(
        [
            lambda img: letterbox(img, size)[0],
            T.PILToTensor(),
            T.ToDtype(torch.float32, scale=True),
            T.Normalize(MEAN, STD),
        ]
    )


class CachedPhotos(Dataset):
    """Labelled photos decoded once into memory (downscaled to CACHE_SHORT_SIDE) with a per-item transform."""

    def __init__(self, samples: list[vdata.Sample], data_dir: Path, transform, desc: str = "photos"):
        """Decode every photo now, with a progress bar."""
        self.samples, self.transform = samples, transform
        self.targets = [CLASSES.index(s.label) for s in samples]
        self.images: list[Image.Image] = []
        for s in tqdm(samples, desc=f"decode {desc}", file=sys.stderr, leave=False):
            img = decode((data_dir / s.path).read_bytes())
            short = min(img.size)
            if short > CACHE_SHORT_SIDE:
                f = CACHE_SHORT_SIDE / short
                img = img.resize((round(img.size[0] * f), round(img.size[1] * f)), Image.Resampling.BILINEAR)
            self.images.append(img)

    def __len__(self) -> int:
        """Return the number of photos."""
        return len(self.images)

    def __getitem__(self, i: int):
        """Return (transformed image tensor, class index)."""
        return self.transform(self.images[i]), self.targets[i]


def input_size(args) -> int:
    """Return the run's input size: --input-size, or the backbone's native size."""
    return args.input_size or native_input_size(args.arch)


def load_data(args) -> tuple[CachedPhotos, CachedPhotos, list[vdata.Sample]]:
    """Return the training and selection datasets and the full, hashed sample list for the manifest."""
    samples = vdata.list_samples(args.data, with_hashes=True)
    if args.limit:
        kept: list[vdata.Sample] = []
        seen: dict[tuple[str, str], int] = {}
        for s in samples:
            key = (s.split, s.label)
            if seen.get(key, 0) < args.limit:
                kept.append(s)
                seen[key] = seen.get(key, 0) + 1
        samples = kept
    train = [s for s in samples if s.split == "train"]
    val = [s for s in samples if s.split == "val"]
    train_ds = CachedPhotos(train, args.data, None, "train")
    backgrounds = [img for img, s in zip(train_ds.images, train, strict=True) if s.label == "whole"]
    train_ds.transform = train_transform(
        input_size(args), args.crop_scale, backgrounds, args.zoom_out, args.phone_augment
    )
    val_ds = CachedPhotos(val, args.data, eval_transform(input_size(args)), "val")
    return train_ds, val_ds, samples


def class_weights(targets: list[int], moderate: float = 1.0) -> torch.Tensor:
    """Return loss weights proportional to 1/sqrt(class frequency), `moderate` times that for the moderate class,
    mean 1 (softens the whole/minor imbalance and can favour the hardest class)."""
    counts = np.bincount(targets, minlength=len(CLASSES)).astype(np.float64)
    w = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    w[CLASSES.index("moderate")] *= moderate
    return torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)


class BatchMix:
    """With probability p, MixUp (alpha 0.2) or CutMix (alpha 1.0) a batch; targets become class distributions."""

    def __init__(self, p: float, num_classes: int = len(CLASSES)):
        """Set the probability of mixing a batch."""
        self.p, self.num_classes = p, num_classes
        self.mix = T.RandomChoice(
            [T.MixUp(alpha=0.2, num_classes=num_classes), T.CutMix(alpha=1.0, num_classes=num_classes)]
        )

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the (possibly mixed) images and soft targets."""
        if float(torch.rand(())) < self.p:
            return self.mix(images, targets)
        return images, nn.functional.one_hot(targets, self.num_classes).float()


def train_one_epoch(model, criterion, optimizer, scheduler, loader, epoch: int, args, step: int) -> tuple[dict, int]:
    """Train for one pass over the loader; return (mean loss and accuracy, global step)."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", file=sys.stderr, dynamic_ncols=True)
    mix = BatchMix(args.mix_prob) if args.mix_prob > 0 else None
    for images, targets in bar:
        if mix is not None:
            images, soft = mix(images, targets)
            logits = model(images)
            loss = criterion(logits, soft)  # class weights and label smoothing apply to soft targets too
        else:
            logits = model(images)
            loss = criterion(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        step += 1
        total_loss += loss.item() * len(targets)
        correct += int((logits.argmax(1) == targets).sum())
        seen += len(targets)
        bar.set_postfix(
            loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}"
        )
        if args.max_steps and step >= args.max_steps:
            break
    return {"loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1)}, step


@torch.no_grad()
def evaluate(model, loader) -> tuple[dict, np.ndarray, np.ndarray]:
    """Evaluate on a loader; return (classification report with loss, logits, labels)."""
    model.eval()
    all_logits, all_labels = [], []
    for images, targets in tqdm(loader, desc="evaluate", file=sys.stderr, leave=False):
        all_logits.append(model(images).numpy())
        all_labels.append(targets.numpy())
    logits = np.concatenate(all_logits).astype(np.float64)
    labels = np.concatenate(all_labels)
    report = metrics.classification_report(labels, logits.argmax(1))
    damaged = labels != CLASSES.index("whole")
    report["vds2500_macro_f1"] = metrics.classification_report(labels[damaged], logits.argmax(1)[damaged])["macro_f1"]
    report["nll"] = metrics.nll(logits, labels)
    report["ece"] = metrics.ece(metrics.softmax(logits), labels)
    return report, logits, labels


def lr_lambda(warmup: int, total: int):
    """Return a step -> factor function: linear warm-up, then cosine decay to zero."""

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    return f


def main(args) -> int:
    """Train, select the best epoch on the selection set by macro-F1, and save it with its manifest."""
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1 (the best epoch is what is saved), got {args.epochs}")
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train_ds, val_ds, samples = load_data(args)
    manifest_sha = vdata.write_manifest(samples, out / "training_manifest.json")
    print(
        f"train {len(train_ds)} photos, select {len(val_ds)} photos, manifest sha256 {manifest_sha} "
        f"({time.time() - t0:.0f}s to load)",
        file=sys.stderr,
    )

    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(
        train_ds, batch_size=args.batch_size, shuffle=True, drop_last=True, generator=generator, num_workers=0
    )
    val_loader = DataLoader(val_ds, batch_size=64, shuffle=False, num_workers=0)

    init = args.init_checkpoint
    init_args = None
    model = DamageNet(pretrained=not args.no_pretrained and not init, arch=args.arch)
    if init:
        # Second stage: continue from a first-stage checkpoint (the weights only; a fresh optimiser and schedule).
        ckpt = torch.load(init, map_location="cpu", weights_only=False)
        if tuple(ckpt["classes"]) != CLASSES:
            raise ValueError(f"{init}: checkpoint classes {ckpt['classes']} differ from {CLASSES}")
        model.load_state_dict(ckpt["state_dict"])
        init_args = {**ckpt["args"], "epoch": ckpt["epoch"], "init_args": ckpt.get("init_args")}
        print(f"initialised from {init} (epoch {ckpt['epoch']})", file=sys.stderr)
    model.freeze(args.freeze_blocks)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
    )
    total = args.epochs * len(train_loader)
    if args.max_steps:
        total = min(total, args.max_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(min(args.warmup_steps, total), total))
    criterion = nn.CrossEntropyLoss(
        weight=class_weights(train_ds.targets, args.moderate_weight), label_smoothing=args.label_smoothing
    )

    best, step, history = None, 0, []
    for epoch in range(args.epochs):
        t_epoch = time.time()
        train_stats, step = train_one_epoch(model, criterion, optimizer, scheduler, train_loader, epoch, args, step)
        report, logits, labels = evaluate(model, val_loader)
        row = {
            "epoch": epoch + 1,
            "step": step,
            "train": train_stats,
            "val_macro_f1": report["macro_f1"],
            "vds2500_val_macro_f1": report["vds2500_macro_f1"],
            "val_ece": report["ece"],
            "val_accuracy": report["accuracy"],
            "val_damage_accuracy": report["damage_accuracy"],
            "val_nll": report["nll"],
            "seconds": round(time.time() - t_epoch, 1),
        }
        history.append(row)
        print(json.dumps(row), file=sys.stderr)
        with open(out / "log.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        key = (report["macro_f1"], -report["nll"])
        if best is None or key > best:
            best = key
            torch.save(
                {
                    "arch": args.arch,
                    "input_size": input_size(args),
                    "classes": list(CLASSES),
                    "state_dict": model.state_dict(),
                    "epoch": epoch + 1,
                    "args": {
                        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if not k.startswith("_")
                    },
                    "val_report": report,
                    "val_logits": logits,
                    "val_labels": labels,
                    "manifest_sha256": manifest_sha,
                    "history": history,
                    "init_args": init_args,
                },
                out / "best.pt",
            )
        if args.max_steps and step >= args.max_steps:
            break
    assert best is not None  # at least one epoch ran (checked above), and the first one always sets it
    print(
        f"best selection macro-F1 {best[0]:.4f}; checkpoint {out / 'best.pt'}; {(time.time() - t0) / 60:.1f} min",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(add_train_arguments(argparse.ArgumentParser(description=__doc__)).parse_args()))
