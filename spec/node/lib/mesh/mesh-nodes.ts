/** PeerMesh instances on a FakeNetwork, recording what they report (shared by the mesh tests). */
import { PeerMesh, type MeshConfig } from '../../../../lib/mesh/peer-mesh.js';
import type { DataConnectionLink } from '../../../../lib/mesh/data-connection-link.js';
import { parseSignalingUrl } from '../../../../shared-worker/protocol/signaling-url.js';
import type { MeshStatus } from '../../../../shared-worker/protocol/worker-protocol.js';
import type { FakeNetwork } from './fake-peerjs.js';

export const ROOM = 'a'.repeat(32);
export const OTHER_ROOM = 'b'.repeat(32);
export const id = (node: string) => `${ROOM}-${node.repeat(16).slice(0, 16)}`;

export interface MeshNode {
  mesh: PeerMesh;
  statuses: MeshStatus[];
  links: DataConnectionLink[];
  frames: Array<{ from: string; bytes: number[] }>;
}

export function startNode(net: FakeNetwork, peerId: string, roomId = ROOM): MeshNode {
  const config: MeshConfig = { selfPeerId: peerId, roomId, signalingToken: 'f'.repeat(32), target: parseSignalingUrl('http://127.0.0.1:9/'), iceServers: [] };
  const node: MeshNode = { statuses: [], links: [], frames: [], mesh: null as unknown as PeerMesh };
  node.mesh = new PeerMesh(config, { createPeer: net.createPeer, listMembers: (room) => net.listMembers(room), random: () => 0.5 }, {
    status: (s) => node.statuses.push(s),
    link: (link) => {
      node.links.push(link);
      link.onFrame((f) => node.frames.push({ from: link.remotePeerId, bytes: [...f] }));
    },
  });
  node.mesh.start();
  return node;
}

export const openLinks = (n: MeshNode) => n.links.filter((l) => !l.isClosed);
