import { MambaError } from '../util/errors.js';
import { checkLimit } from './limits.js';

/**
 * JSON.parse for text from files: the nesting depth is checked first (JSON.parse and every walk
 * over its result recurse, and 200,000 brackets overflow the stack), and a leading byte order
 * mark is refused as the reference readers refuse it. `what` leads the messages.
 */
export function parseJson(text: string, what: string): unknown {
  if (text.charCodeAt(0) === 0xfeff)
    throw new MambaError(`${what}: starts with a byte order mark, which JSON does not allow; save it without one`);
  checkLimit('maxJsonDepth', jsonDepth(text), `${what}: JSON nesting depth`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MambaError(`${what}: not valid JSON (${(error as Error).message})`);
  }
}

/** The deepest nesting of brackets in JSON text, strings skipped; one pass, no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  forEachOutsideStrings(text, (c) => {
    if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  });
  return deepest;
}

/**
 * The first number in JSON text written with a fraction or an exponent (`16.0`, `1e3`), or
 * undefined. JSON.parse gives 16.0 as 16, but the reference readers (serde, Python) refuse such a
 * number where an integer belongs, so a reader that wants integers looks at the text.
 */
export function firstNonIntegerNumber(text: string): string | undefined {
  let start = -1;
  let found: string | undefined;
  const end = (at: number): void => {
    const literal = text.slice(start, at);
    if (found === undefined && /[.eE]/.test(literal)) found = literal;
    start = -1;
  };
  forEachOutsideStrings(text, (c, at) => {
    const digitOrMinus = (c >= 0x30 && c <= 0x39) || c === 0x2d;
    // A number starts with a digit or a minus sign (so the e of `true` starts none) and runs on
    // through its fraction and exponent.
    if (start < 0) {
      if (digitOrMinus) start = at;
    } else if (!(digitOrMinus || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45)) end(at);
  });
  if (start >= 0) end(text.length);
  return found;
}

/** Calls `visit` with each character of JSON text that is outside a string, quotes included. */
function forEachOutsideStrings(text: string, visit: (c: number, at: number) => void): void {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else {
      if (c === 0x22) inString = true;
      visit(c, i);
    }
  }
}
