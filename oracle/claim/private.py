"""What an explanation keeps private when a claim's evidence is sealed: its photos' EXIF facts, sealed with the
claim's key so the public document carries no camera time or position (the heat maps are sealed in the assessor)."""

from __future__ import annotations

import dataclasses

from oracle.assess import Explanation
from oracle.assess.exif import PhotoExif
from oracle.explain.canonical import canonical_json
from oracle.privacy import PRIVATE_PURPOSE, seal_deterministic


def seal_exif(exif: PhotoExif, key: bytes) -> PhotoExif:
    """The sealed form of one photo's EXIF facts: the same bytes at every committee member (deterministic)."""
    sealed = seal_deterministic(key, canonical_json(exif.to_doc()), PRIVATE_PURPOSE)
    return PhotoExif(sealed="0x" + sealed.hex())


def with_sealed_exif(explanation: Explanation, key: bytes) -> Explanation:
    """The explanation with every finding's EXIF facts sealed under the claim's key."""
    findings = tuple(dataclasses.replace(f, exif=seal_exif(f.exif, key)) for f in explanation.assessment.findings)
    return dataclasses.replace(explanation, assessment=dataclasses.replace(explanation.assessment, findings=findings))
