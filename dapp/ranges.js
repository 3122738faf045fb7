// Block ranges for history scans: public RPC providers refuse eth_getLogs over long ranges, so a scan from the
// deployment block to the head is cut into consecutive ranges of at most `chunk` blocks (the gateway's
// /api/config says where the deployment starts and how long a chunk may be).

/** [first, last] as consecutive inclusive [from, to] ranges of at most `chunk` blocks. */
export function blockRanges(first, last, chunk) {
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new Error(`a log chunk must span at least one block, got ${chunk}`);
  const ranges = [];
  for (let from = first; from <= last; from += chunk) ranges.push([from, Math.min(last, from + chunk - 1)]);
  return ranges;
}
