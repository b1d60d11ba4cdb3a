import express, { type Router } from 'express';
import { ROOM_ID_PATTERN } from '../shared-worker/protocol/ids.js';
import type { RoomRegistry } from './room-registry.js';

/**
 * `GET rooms/<roomId>` lists one room to whoever names it (a 128-bit id derived from the room
 * token, so naming it is the capability), `GET health` gives counts only. Nothing lists rooms,
 * and `peer`'s own `/<key>/peers` stays off (`allow_discovery: false`).
 *
 * CORS is open (`*`): the demo page is served from another port, the answers carry no cookies,
 * and a page can only learn what its caller could already ask with the room id in hand.
 */
export function createHttpRoutes(registry: RoomRegistry<unknown>, isClosed: () => boolean): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set('Access-Control-Allow-Origin', '*');
    res.set('Cache-Control', 'no-store');
    next();
  });
  router.get('/rooms/:roomId', (req, res) => {
    if (isClosed()) {
      res.status(503).json({ error: 'server closed' });
      return;
    }
    const roomId = req.params.roomId;
    if (!ROOM_ID_PATTERN.test(roomId)) {
      res.status(400).json({ error: 'room id must be 32 lowercase hex digits' });
      return;
    }
    res.json({ peers: registry.members(roomId) });
  });
  router.get('/health', (_req, res) => {
    if (isClosed()) {
      res.status(503).json({ ok: false });
      return;
    }
    res.json({ ok: true, peers: registry.peers, rooms: registry.roomCount });
  });
  return router;
}
