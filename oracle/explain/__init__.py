"""Explanations and evidence manifests: canonical JSON, keccak256 hashes, and the documents built on them."""

from oracle.domain import DEFAULT_MAX_PHOTO_BYTES, DEFAULT_MAX_PHOTOS
from oracle.explain.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json,
    decimal_string,
    explanation_hash,
    hex0x,
    keccak_canonical,
    parse_canonical,
)
from oracle.explain.document import (
    DECISION_NAMES,
    EXPLANATION_SCHEMA,
    EXPLANATION_VERSION,
    ExplanationError,
    build_explanation,
    describe_code_version,
    explanation_bytes_and_hash,
)
from oracle.explain.evidence import (
    EvidenceError,
    Manifest,
    Photo,
    build_manifest,
    load_manifest,
    photo_entry,
    verify_evidence,
)

__all__ = [
    "DECISION_NAMES",
    "DEFAULT_MAX_PHOTOS",
    "DEFAULT_MAX_PHOTO_BYTES",
    "EXPLANATION_SCHEMA",
    "EXPLANATION_VERSION",
    "MAX_SAFE_INTEGER",
    "CanonicalJSONError",
    "EvidenceError",
    "ExplanationError",
    "Manifest",
    "Photo",
    "build_explanation",
    "build_manifest",
    "canonical_json",
    "decimal_string",
    "describe_code_version",
    "explanation_bytes_and_hash",
    "explanation_hash",
    "hex0x",
    "keccak_canonical",
    "load_manifest",
    "parse_canonical",
    "photo_entry",
    "verify_evidence",
]
