"""The oracle node: follow claim events, keep jobs in a database, assess, sign and submit exactly once."""
