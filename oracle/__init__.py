"""Off-chain side of the claims oracle: adapter, node, assessment, sources, explanations and store."""

__version__ = "0.1.0"
