export function runInPrivateNetwork(argv: string[], options?: { cwd?: string; label?: string }): void;
