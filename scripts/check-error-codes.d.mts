// Types of the functions scripts/check-error-codes.mjs exports (for its test).
export function documentedCodes(): Set<string>;
export function assertedCodesIn(text: string): Set<string>;
export function assertedCodes(files: string[]): Set<string>;
export function thrownCodes(files: string[]): Map<string, string[]>;
export function testFiles(srcFiles: string[], e2eFiles: string[]): string[];
