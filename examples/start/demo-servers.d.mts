// Types for the browser tests, which import demo-servers.mjs from TypeScript.
export declare const REPO_ROOT: string;
export declare const HOST: string;
export declare function demoMounts(root?: string): Record<string, string>;
export declare function newRoomToken(): string;
export interface DemoServers {
  siteUrl: string;
  signalingUrl: string;
  /** ws://…/mailbox when the mailbox is on. */
  mailboxUrl: string | undefined;
  signaling: { url: string; port: number; close(): Promise<void>; stats(): { peers: number; rooms: number } };
  roomUrl(token?: string): string;
  close(): Promise<void>;
}
export declare function startDemoServers(options?: {
  port?: number;
  signalingPort?: number;
  root?: string;
  log?: (line: string) => void;
  extraMounts?: Record<string, string>;
  iceServers?: Array<{ urls: string | string[]; username?: string; credential?: string }>;
  /** SQLite file (or server MailboxOptions) for the encrypted mailbox; off when absent. */
  mailbox?: string | Record<string, unknown> | false;
}): Promise<DemoServers>;
