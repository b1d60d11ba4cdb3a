/**
 * The three links between three test peers, each brought up or cut as a property test's commands
 * say. A link the commands want up comes back after either of its peers reopened (its old end
 * closed with the peer).
 */
import type { LinkPair } from './memory-link.js';
import { connect, type TestNode } from './net.js';

const PAIRS = [[0, 1], [1, 2], [0, 2]] as const;

export class TriangleLinks {
  private readonly links: Array<LinkPair | null> = [null, null, null];
  private readonly wanted = [false, false, false];

  /** `peers` is read at each call: the test replaces a peer that reopens. */
  constructor(private readonly peers: readonly TestNode[]) {}

  isUp(pair: number): boolean {
    return this.links[pair] != null && !this.links[pair]!.a.closed;
  }

  up(pair: number): void {
    if (this.isUp(pair)) return;
    const [x, y] = PAIRS[pair]!;
    this.links[pair] = connect(this.peers[x]!, this.peers[y]!);
  }

  /** Cuts the link if it is up, brings it up if not; either way the commands want that state. */
  toggle(pair: number): void {
    this.wanted[pair] = !this.isUp(pair);
    if (this.isUp(pair)) this.links[pair]!.close('flap');
    else this.up(pair);
  }

  /** After a peer reopened: the wanted links come back. */
  relink(): void {
    PAIRS.forEach((_, p) => this.wanted[p] && this.up(p));
  }

  allUp(): void {
    PAIRS.forEach((_, p) => this.up(p));
  }
}
