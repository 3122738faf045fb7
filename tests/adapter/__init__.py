"""Tests of the Chainlink external adapter, the content gateway and the job spec."""
