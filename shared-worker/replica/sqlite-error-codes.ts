/** Maps what sql.js throws to BatteryError: our trigger guards -> BAD_OP, anything else from SQLite -> `sqlCode`. */
import { BatteryError, isBatteryError } from '../protocol/errors.js';
import { TRIGGER_ERROR_PREFIX } from './internal-schema.js';

export function toBatteryError(e: unknown, sqlCode: 'SQL' | 'BAD_OP' | 'SCHEMA' = 'SQL'): BatteryError {
  if (isBatteryError(e)) return e as BatteryError;
  const message = e instanceof Error ? e.message : String(e);
  if (message.includes(TRIGGER_ERROR_PREFIX)) return new BatteryError('BAD_OP', message.slice(message.indexOf(TRIGGER_ERROR_PREFIX) + TRIGGER_ERROR_PREFIX.length).trim());
  return new BatteryError(sqlCode, message);
}
