"""Export a trained checkpoint to ONNX with its calibration and provenance, and check it against PyTorch."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from oracle.domain import CLASSES
from oracle.vision import data as vdata
from oracle.vision import metrics
from oracle.vision.images import INPUT_SIZE, MEAN, STD, preprocess
from oracle.vision.network import ARCH, DamageNet, ExportedDamageNet
from oracle.vision.options import add_export_arguments

OPSET = 17


def load_checkpoint(path: Path) -> tuple[DamageNet, dict]:
    """Rebuild the trained network from a checkpoint; return (model in eval mode, checkpoint dict)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if tuple(ckpt["classes"]) != CLASSES:
        raise ValueError(f"{path}: checkpoint classes {ckpt['classes']} differ from {CLASSES}")
    model = DamageNet(pretrained=False, arch=ckpt.get("arch", ARCH))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt


def checkpoint_input_size(ckpt: dict) -> int:
    """Return the input size a checkpoint was trained at (checkpoints before 0.3.0 do not say: 224)."""
    return int(ckpt.get("input_size", INPUT_SIZE))


def export_onnx(model: DamageNet, path: Path, metadata: dict) -> None:
    """Write the (logits, cam) network to an ONNX file with a dynamic batch axis and the metadata embedded."""
    wrapper = ExportedDamageNet(model).eval()
    dummy = torch.zeros(1, 3, metadata["input_size"], metadata["input_size"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(tmp),
            dynamo=False,
            opset_version=OPSET,
            input_names=["image"],
            output_names=["logits", "cam"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}, "cam": {0: "batch"}},
        )
    proto = onnx.load(str(tmp))
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = "damage_model", json.dumps(metadata, sort_keys=True)
    proto.doc_string = "Vehicle damage classifier (whole/minor/moderate/severe) with class activation maps."
    proto.producer_name = "claims-oracle"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    tmp.unlink()


def consistency(model: DamageNet, onnx_path: Path, photos: list[Path], size: int) -> float:
    """Return the largest absolute difference between ONNX Runtime and PyTorch logits and CAMs on real photos."""

    batch = np.stack([preprocess(p.read_bytes(), size)[0] for p in photos]).astype(np.float32)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    o_logits, o_cam = session.run(None, {"image": batch})
    with torch.no_grad():
        e_logits, e_cam = ExportedDamageNet(model)(torch.from_numpy(batch))
    return float(max(np.abs(o_logits - e_logits.numpy()).max(), np.abs(o_cam - e_cam.numpy()).max()))


def _portable_args(args: dict) -> dict:
    """Return training arguments without machine-specific paths (an init checkpoint is kept repo-relative)."""
    out = {k: v for k, v in args.items() if k not in ("data", "output_dir")}
    init = out.get("init_checkpoint")
    if init:
        try:
            out["init_checkpoint"] = str(Path(init).resolve().relative_to(vdata.REPO_ROOT))
        except ValueError:
            out["init_checkpoint"] = Path(init).name
    if isinstance(out.get("init_args"), dict):
        out["init_args"] = _portable_args(out["init_args"])
    return out


def main(args) -> int:
    """Export the checkpoint, fit the temperature on the selection set, write weights, hashes and manifest."""
    model, ckpt = load_checkpoint(args.checkpoint)
    logits, labels = np.asarray(ckpt["val_logits"]), np.asarray(ckpt["val_labels"])
    temperature = metrics.fit_temperature(logits, labels)
    metadata = {
        "arch": model.arch,
        "classes": list(CLASSES),
        "input_size": checkpoint_input_size(ckpt),
        "mean": list(MEAN),
        "std": list(STD),
        "preprocess": "RGB, EXIF upright, letterbox to a square (grey 128 border), bilinear, (x/255-mean)/std, NCHW",
        "outputs": {
            "logits": "N x 4 raw logits; divide by temperature then softmax",
            "cam": "N x 4 x S/32 x S/32 class activation maps; their spatial mean equals logits",
        },
        "temperature": round(temperature, 6),
        "training_manifest_sha256": ckpt["manifest_sha256"],
        "epoch": ckpt["epoch"],
        "seed": ckpt["args"]["seed"],
        "train_args": _portable_args(ckpt["args"]),
    }
    if ckpt.get("init_args"):  # a two-stage recipe: record the first stage too
        metadata["first_stage_train_args"] = _portable_args(ckpt["init_args"])
    export_onnx(model, args.output, metadata)
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    args.output.with_name(args.output.name + ".sha256").write_text(f"{digest}  {args.output.name}\n")
    manifest = Path(args.checkpoint).parent / "training_manifest.json"
    if manifest.is_file() and args.output.parent.resolve() != manifest.parent.resolve():
        target = args.output.parent / "training_manifest.json"
        shutil.copyfile(manifest, target)
        shutil.copyfile(manifest.with_name(manifest.name + ".sha256"), target.with_name(target.name + ".sha256"))
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB), sha256 {digest}", file=sys.stderr)
    print(
        f"temperature {temperature:.4f}: selection-set ECE {metrics.ece(metrics.softmax(logits), labels):.4f} -> "
        f"{metrics.ece(metrics.softmax(logits, temperature), labels):.4f}",
        file=sys.stderr,
    )
    try:
        photos = [Path(args.data) / s.path for s in vdata.list_samples(args.data) if s.split == "val"]
    except FileNotFoundError:
        photos = []
    if photos and args.check_photos:
        step = max(1, len(photos) // args.check_photos)
        diff = consistency(model, args.output, photos[::step][: args.check_photos], checkpoint_input_size(ckpt))
        print(
            f"ONNX Runtime vs PyTorch on {min(len(photos), args.check_photos)} real photos: max |diff| {diff:.2e}",
            file=sys.stderr,
        )
        if diff > 1e-4:
            print("error: exported model disagrees with PyTorch by more than 1e-4", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(add_export_arguments(argparse.ArgumentParser(description=__doc__)).parse_args()))
