export function parseBrowserArgs(args: string[]): { browsers: string[]; vitestArgs: string[] };
