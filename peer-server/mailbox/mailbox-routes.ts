import express, { type Router } from 'express';
import type { MailboxEndpoint } from './mailbox-endpoint.js';

/**
 * `GET <path>mailbox`: whether this server offers a mailbox (404 when it does not) and its
 * limits, so a client knows before it opens the WebSocket. CORS is open as for the room routes.
 */
export function createMailboxRoutes(endpoint: MailboxEndpoint, isClosed: () => boolean): Router {
  const router = express.Router();
  router.get('/mailbox', (_req, res) => {
    res.set('Access-Control-Allow-Origin', '*');
    res.set('Cache-Control', 'no-store');
    if (isClosed()) {
      res.status(503).json({ error: 'server closed' });
      return;
    }
    res.json(endpoint.info());
  });
  return router;
}
