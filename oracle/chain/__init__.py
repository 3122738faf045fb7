"""Typed access to the deployed contracts: EIP-712 reports, ABIs and deployment."""
