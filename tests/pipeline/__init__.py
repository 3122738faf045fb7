"""Tests of the claim pipeline that the node and the adapter share."""
