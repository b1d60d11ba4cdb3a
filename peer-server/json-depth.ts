/**
 * Nesting depth of a parsed JSON value (a scalar is 0, `{}` and `[]` are 1), walked with an
 * explicit stack so a hostile value cannot overflow ours. Stops as soon as `limit` is exceeded
 * and returns `limit + 1`.
 *
 * Why the server needs it: npm `peer` 1.0.2 relays by `JSON.stringify`-ing the parsed message in
 * a try block whose catch closes the *recipient's* socket ("Peer dead?"). V8's stringify is
 * recursive and throws RangeError a few thousand levels down, and a 10 KB message can nest 5,000
 * deep, so without a bound anyone could close any member's signaling socket.
 */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const inner = depth + 1;
    if (inner > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: inner });
    }
  }
  return false;
}
