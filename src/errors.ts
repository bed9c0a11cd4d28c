// The one error class of the library. Every error a caller can see carries a stable `code`
// (listed in the README); messages may change, codes do not. Pure module, imported everywhere.

export type P2PErrorCode = string;

export class P2PError extends Error {
  readonly code: P2PErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: P2PErrorCode, message: string, details?: Record<string, unknown>) {
    super(`${code}: ${message}`);
    this.name = 'P2PError';
    this.code = code;
    this.details = details;
  }
}

/** True when `e` is a P2PError, optionally with the given code. */
export function isP2PError(e: unknown, code?: P2PErrorCode): e is P2PError {
  return e instanceof P2PError && (code === undefined || e.code === code);
}
