/** Reads an unsigned LEB128 number at `at`; returns it and the offset after it. */
function leb128(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
  }
}

const EXPORT_SECTION = 7;
const FUNCTION_EXPORT = 0;

/**
 * The exported functions of a wasm module by function index, read from its export section. The
 * kernels are built without a name section, so V8's profiles call them wasm-function[index]; this
 * gives those frames their export names.
 */
export function wasmExportNames(bytes: Uint8Array): Map<number, string> {
  const names = new Map<number, string>();
  const text = new TextDecoder();
  let at = 8; // magic and version
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, start] = leb128(bytes, at + 1);
    at = start + size;
    if (id !== EXPORT_SECTION) continue;
    let [count, p] = leb128(bytes, start);
    for (; count > 0; count--) {
      const [length, nameStart] = leb128(bytes, p);
      const name = text.decode(bytes.subarray(nameStart, nameStart + length));
      const kind = bytes[nameStart + length]!;
      const [index, next] = leb128(bytes, nameStart + length + 1);
      if (kind === FUNCTION_EXPORT) names.set(index, name);
      p = next;
    }
  }
  return names;
}
