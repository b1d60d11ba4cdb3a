export declare const BUILD_OUTPUTS: string[];
export declare function staleReason(root: string): string | null;
export declare function buildIfStale(root: string, log?: (line: string) => void): boolean;
