"""Tests of the damage model: inputs, runtime, export, commands and training."""
