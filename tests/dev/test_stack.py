"""The local stack waits for its oracle nodes to warm up before it files claims, and reports a node that dies."""

from __future__ import annotations

import asyncio

import pytest

from oracle.dev.stack import wait_until_ready


class WarmingNode:
    """A stand-in with an OracleNode's `ready` event and a `run` that warms up, fails or never gets ready."""

    def __init__(self, warm_seconds: float | None, error: Exception | None = None):
        self.ready, self.warm_seconds, self.error = asyncio.Event(), warm_seconds, error

    async def run(self) -> None:
        if self.error is not None:
            raise self.error
        if self.warm_seconds is None:
            await asyncio.Event().wait()  # never ready
        await asyncio.sleep(self.warm_seconds)
        self.ready.set()
        await asyncio.Event().wait()


async def _wait(nodes, timeout=5.0):
    tasks = [asyncio.create_task(node.run()) for node in nodes]
    try:
        await wait_until_ready(nodes, tasks, timeout=timeout)
        return [node.ready.is_set() for node in nodes]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.asyncio
async def testwait_until_ready__all_nodes_warm_up__returns_once_every_one_is_ready():
    assert await _wait([WarmingNode(0.01), WarmingNode(0.05), WarmingNode(0.0)]) == [True, True, True]


@pytest.mark.asyncio
async def testwait_until_ready__a_node_dies_while_warming__raises_its_error():
    with pytest.raises(FileNotFoundError, match="no model"):
        await _wait([WarmingNode(0.01), WarmingNode(None, FileNotFoundError("no model"))])


@pytest.mark.asyncio
async def testwait_until_ready__a_node_never_gets_ready__times_out_saying_so():
    with pytest.raises(TimeoutError, match="not ready after"):
        await _wait([WarmingNode(0.0), WarmingNode(None)], timeout=0.2)
