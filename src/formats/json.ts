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
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}
