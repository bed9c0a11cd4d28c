// Reading the tracker's neighbour lists: which connected neighbours a new list drops. The tracker
// knows at once when a peer leaves; the link to it can linger until the transport notices. Pure.

/**
 * The connected neighbours named by the `before` list and not by `after` (left, or moved by the
 * tracker). A list that keeps fewer than half of the connected neighbours named before is taken
 * as partial (a restarted tracker rebuilding its rooms) and drops nobody.
 */
export function droppedNeighbours(before: ReadonlySet<string>, after: ReadonlySet<string>, connected: (peerId: string) => boolean): string[] {
  const dropped: string[] = [];
  let named = 0;
  for (const id of before) {
    if (!connected(id)) continue;
    named++;
    if (!after.has(id)) dropped.push(id);
  }
  return 2 * (named - dropped.length) >= named ? dropped : [];
}
