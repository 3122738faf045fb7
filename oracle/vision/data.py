"""Where the training photos are, how they split into train, selection and test sets, and their hashed manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from oracle.domain import CLASSES, REPO_ROOT, SEVERITIES

MODELS_DIR = REPO_ROOT / "models"
DEFAULT_DATA_DIR = REPO_ROOT / ".." / "shared" / "data"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}

# vds2500 has its own train/val split for the damage classes; the whole-car photos have one folder, of which
# every file whose name hashes to 0 mod WHOLE_HOLDOUT_MOD is held out for selection (20%, stable across runs).
WHOLE_HOLDOUT_MOD = 5
# The test split, which neither training nor selection uses (the robustness suite is built from it): vds2500 train
# photos whose name hashes to TEST_RESIDUE mod DAMAGED_TEST_MOD (10%), and whole-car photos whose name hashes to
# TEST_RESIDUE mod WHOLE_HOLDOUT_MOD (20%). Models before 0.3.0 trained on these photos.
DAMAGED_TEST_MOD = 10
TEST_RESIDUE = 1


@dataclass(frozen=True)
class Sample:
    """One labelled photo: its path relative to the data dir, class, split and content hash."""

    path: str
    label: str
    split: str
    sha256: str = ""


def default_data_dir() -> Path:
    """Return ../shared/data next to the repository, resolved."""
    return DEFAULT_DATA_DIR.resolve()


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _images(folder: Path) -> list[Path]:
    """Return the image files in a folder, sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _name_residue(name: str, mod: int) -> int:
    """Return a file name's sha256, as an integer, mod `mod` (a split rule stable across runs and machines)."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % mod


def _damaged_split(name: str, split: str) -> str:
    """Return the split of a vds2500 photo: its own val, else test for one name in DAMAGED_TEST_MOD, else train."""
    if split == "train" and _name_residue(name, DAMAGED_TEST_MOD) == TEST_RESIDUE:
        return "test"
    return split


def _whole_split(name: str) -> str:
    """Return the split of a whole-car photo by a hash of its name: val, test or train."""
    residue = _name_residue(name, WHOLE_HOLDOUT_MOD)
    return "val" if residue == 0 else "test" if residue == TEST_RESIDUE else "train"


def list_samples(data_dir: Path, with_hashes: bool = False) -> list[Sample]:
    """List every training ('train'), selection ('val') and test ('test') photo under data_dir/images in a fixed
    order."""
    data_dir = Path(data_dir)
    images = data_dir / "images"
    if not images.is_dir():
        raise FileNotFoundError(
            f"no images folder under {data_dir}: expected images/vds2500 and images/carparts_whole "
            "(see ../shared/data/README.md); pass --data to point at your copy"
        )
    samples: list[Sample] = []
    for split in ("train", "val"):
        for label in SEVERITIES:
            for p in _images(images / "vds2500" / split / label):
                samples.append(Sample(str(p.relative_to(data_dir)), label, _damaged_split(p.name, split)))
    for p in _images(images / "carparts_whole" / "train" / "whole"):
        samples.append(Sample(str(p.relative_to(data_dir)), "whole", _whole_split(p.name)))
    if not samples:
        raise FileNotFoundError(f"no photos found under {images}")
    if with_hashes:
        samples = [Sample(s.path, s.label, s.split, sha256_file(data_dir / s.path)) for s in samples]
    return samples


def list_folder(data_dir: Path) -> list[Sample]:
    """List photos laid out as data_dir/<class>/<image> for the known classes (other folders are ignored)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"evaluation folder {data_dir} does not exist")
    samples = [
        Sample(str(p.relative_to(data_dir)), label, "eval") for label in CLASSES for p in _images(data_dir / label)
    ]
    if not samples:
        raise FileNotFoundError(
            f"no photos under {data_dir}/<class>/ for any class in {list(CLASSES)}; "
            "expected a layout like DIR/whole/a.jpg, DIR/severe/b.png"
        )
    return samples


def manifest_bytes(samples: list[Sample]) -> bytes:
    """Return the canonical JSON bytes of a training-data manifest (sorted keys, one fixed order)."""
    doc = {
        "classes": list(CLASSES),
        "whole_holdout_rule": f"sha256(file name) mod {WHOLE_HOLDOUT_MOD} == 0 -> val",
        "test_rule": f"whole: sha256(file name) mod {WHOLE_HOLDOUT_MOD} == {TEST_RESIDUE} -> test; vds2500 train: "
        f"sha256(file name) mod {DAMAGED_TEST_MOD} == {TEST_RESIDUE} -> test",
        "files": [asdict(s) for s in samples],
    }
    return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode()


def write_manifest(samples: list[Sample], path: Path) -> str:
    """Write the manifest and its .sha256 file next to it; return the manifest's sha256."""
    data = manifest_bytes(samples)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    return digest
