export const PACKED_APP_DIR: string;
export function preparePackedApp(root: string): string;
