/**
 * Every error the library raises on bad input is a MambaError: the CLI prints its message
 * without a stack trace, while any other error is a bug and keeps its stack.
 */
export class MambaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MambaError';
  }
}

/** Shapes that do not fit together; the message names the op and the shapes. */
export class ShapeError extends MambaError {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** Use of a tensor after dispose(). */
export class DisposedError extends MambaError {
  constructor(message: string) {
    super(message);
    this.name = 'DisposedError';
  }
}

export function fail(message: string): never {
  throw new MambaError(message);
}
