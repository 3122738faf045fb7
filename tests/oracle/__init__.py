"""Tests of the oracle core: content store, explanations, data sources and the assessment."""
