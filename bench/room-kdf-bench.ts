/**
 * Offline token guessing from a room id: guesses per CPU second on one core, with the room-id
 * derivation before the stretch (one HKDF of the token) and as shipped (PBKDF2 at
 * ROOM_KDF_ITERATIONS, then HKDF). Both are checked the way an attacker would, with node:crypto's
 * synchronous functions (no WebCrypto promise per guess); the shipped derivation is also timed
 * through `deriveRoomKeys` itself. Lower is better; the goal asks each guess to cost at least
 * 5,000 of the old ones. Run alone: `npx tsx bench/run.ts room-kdf`.
 */
import { hkdfSync, pbkdf2Sync } from 'node:crypto';
import { deriveRoomKeys, ROOM_KDF_ITERATIONS } from '../shared-worker/sync/room-keys.js';

const oldGuess = (token: string): unknown => hkdfSync('sha256', token, 'rtc-battery/room/v1', 'rtc-battery/room-id/v1', 16);
const newGuess = (token: string): unknown =>
  hkdfSync('sha256', pbkdf2Sync(token, 'rtc-battery/room-kdf/v2', ROOM_KDF_ITERATIONS, 32, 'sha256'), 'rtc-battery/room/v2', 'rtc-battery/room-id/v2', 16);

/** Guesses per second of CPU time: the figure per core, however loaded the shared machine is. */
async function perCpuSecond(guess: (token: string) => unknown, count: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) await guess(String(100_000 + i));
  const used = process.cpuUsage(start);
  return count / ((used.user + used.system) / 1e6);
}

export async function run(): Promise<string[]> {
  await perCpuSecond(oldGuess, 2_000); // warm-up
  const before = await perCpuSecond(oldGuess, 50_000);
  const after = await perCpuSecond(newGuess, 8);
  const connect = await perCpuSecond(deriveRoomKeys, 4);
  const ratio = after / before;
  const goal = 2e-4;
  return [
    `room-id guesses per CPU second: ${before.toFixed(0)} before (HKDF only), ${after.toFixed(2)} now (PBKDF2 x ${ROOM_KDF_ITERATIONS} + HKDF); deriveRoomKeys ${(1000 / connect).toFixed(0)} ms CPU per connect`,
    `room-kdf guess rate vs HKDF only: ${ratio.toExponential(2)}x (goal <= ${goal}) ${ratio <= goal ? 'ok' : 'OVER'}`,
  ];
}
