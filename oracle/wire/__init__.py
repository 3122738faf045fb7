"""The JSON wire formats below the node and the adapter: field types, errors and signed reports."""
