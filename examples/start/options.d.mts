// Types for the tests, which import options.mjs from TypeScript.
export declare const USAGE: string;
export type StartOptions =
  | { help: true }
  | {
      help: false;
      port: number;
      signalingPort: number;
      iceServers: object[];
      build: boolean;
      dataDir: string;
      mailbox: boolean;
      quiet: boolean;
    };
export declare function parseStartOptions(argv: string[], env?: Record<string, string | undefined>): StartOptions;
