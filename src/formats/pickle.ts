import { MambaError } from '../util/errors.js';
import { isShape, type StoredDType } from './dtypes.js';
import { LimitError, readLimits } from './limits.js';

/**
 * A pickle reader for torch.save state dicts that never executes anything. Python's unpickler
 * imports and calls whatever the pickle names, which is how a malicious checkpoint runs code;
 * this one knows the handful of globals a state dict of tensors uses, builds inert descriptions
 * from them, and refuses every other global, callable or opcode with a MambaError.
 */

/** One tensor of the state dict: where its elements are in which storage, not the elements. */
export interface PickledTensor {
  readonly name: string;
  readonly dtype: StoredDType;
  /** The storage's record name: its bytes are `<archive>/data/<key>` in the zip. */
  readonly storageKey: string;
  /** Elements in the storage, which may hold more than this tensor (views, shared storages). */
  readonly storageNumel: number;
  /** In elements, as torch counts them. */
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

const STORAGE_DTYPES: ReadonlyMap<string, StoredDType> = new Map([
  ['FloatStorage', 'F32'],
  ['HalfStorage', 'F16'],
  ['BFloat16Storage', 'BF16'],
  ['DoubleStorage', 'F64'],
  ['LongStorage', 'I64'],
  ['IntStorage', 'I32'],
  ['ShortStorage', 'I16'],
  ['CharStorage', 'I8'],
  ['ByteStorage', 'U8'],
  ['BoolStorage', 'BOOL'],
]);

const ORDERED_DICT = 'collections.OrderedDict';
const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';

class Tuple {
  constructor(readonly items: readonly Value[]) {}
}

class Dict {
  // Made on the first item, so that a pickle of a million empty dicts holds a million small objects, not maps.
  private map: Map<string | number, Value> | undefined;

  get entries(): ReadonlyMap<string | number, Value> {
    return this.map ?? new Map();
  }

  set(key: string | number, value: Value): void {
    (this.map ??= new Map()).set(key, value);
  }
}

class Global {
  constructor(readonly qualifiedName: string) {}
}

class Storage {
  constructor(
    readonly dtype: StoredDType,
    readonly key: string,
    readonly numel: number,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

type Value = null | boolean | number | string | Tuple | Dict | Global | Storage | TensorRef;

function describe(value: Value): string {
  if (value === null) return 'None';
  if (value instanceof Tuple) return 'a tuple';
  if (value instanceof Dict) return 'a dict';
  if (value instanceof Global) return value.qualifiedName;
  if (value instanceof Storage) return 'a storage';
  if (value instanceof TensorRef) return 'a tensor';
  return JSON.stringify(value);
}

/**
 * Parses a torch.save `data.pkl` into the tensors of its state dict (a dict or OrderedDict of
 * name → tensor), in the dict's order. `source` names the file for messages.
 */
export function parseTorchStateDict(bytes: Uint8Array, source: string): PickledTensor[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  const storages = new Map<string, Storage>();
  let pos = 0;
  let opcodeAt = 0;
  // Budgets, counted as the pickle runs: a few KB of compressed opcodes can otherwise build
  // millions of dicts before anything looks wrong.
  const { maxPickleOps, maxPickleItems } = readLimits();
  let ops = 0;
  let itemsBuilt = 0;
  const built = (count: number): void => {
    itemsBuilt += count;
    if (itemsBuilt > maxPickleItems)
      throw new LimitError('maxPickleItems', itemsBuilt, `${source}: containers, their items and memo entries`);
  };

  const bad = (message: string): MambaError => new MambaError(`${source}: ${message} (pickle byte ${opcodeAt})`);
  const need = (n: number): number => {
    if (pos + n > bytes.byteLength)
      throw bad('the pickle ends in the middle of an instruction; the file is truncated or damaged');
    const at = pos;
    pos += n;
    return at;
  };
  // Values below the latest MARK belong to an enclosing instruction, as in Python's unpickler.
  const top = (): Value => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]))
      throw bad('malformed pickle: the stack is empty');
    return stack[stack.length - 1];
  };
  const pop = (): Value => {
    top();
    return stack.pop()!;
  };
  const popMark = (): Value[] => {
    const mark = marks.pop();
    if (mark === undefined) throw bad('malformed pickle: no MARK to pop to');
    return stack.splice(mark);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw bad('the pickle ends in the middle of an instruction; the file is truncated or damaged');
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const utf8 = (length: number): string => {
    const at = need(length);
    try {
      return text.decode(bytes.subarray(at, at + length));
    } catch {
      throw bad('a string in the pickle is not valid UTF-8');
    }
  };
  const get = (index: number): Value => {
    if (!memo.has(index)) throw bad(`malformed pickle: memo entry ${index} was never stored`);
    return memo.get(index)!;
  };
  const setItems = (dict: Value, items: Value[]): void => {
    if (!(dict instanceof Dict)) throw bad(`cannot set items on ${describe(dict)}`);
    if (items.length % 2) throw bad('malformed pickle: SETITEMS with an odd number of values');
    built(items.length / 2);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (typeof key !== 'string' && typeof key !== 'number')
        throw bad(`a dict key is ${describe(key)}; a state dict is keyed by names`);
      dict.set(key, items[i + 1]);
    }
  };
  const global = (module: string, name: string): Global => {
    const qualified = `${module}.${name}`;
    const allowed =
      qualified === ORDERED_DICT ||
      qualified === REBUILD_TENSOR ||
      qualified === REBUILD_PARAMETER ||
      (module === 'torch' && STORAGE_DTYPES.has(name));
    if (!allowed) {
      throw bad(
        `the pickle asks for the Python global "${qualified}", which a state dict of tensors has no use for; mamba-ts never runs code from a checkpoint and refuses to load it. If the file is yours, load it in Python and save only the model's state_dict`,
      );
    }
    return new Global(qualified);
  };
  const int = (value: Value, what: string): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      throw bad(`${what} is ${describe(value)}, not a non-negative integer`);
    return value;
  };
  const ints = (value: Value, what: string): number[] => {
    const items = value instanceof Tuple ? value.items : undefined;
    if (!items || !isShape(items)) throw bad(`${what} is ${describe(value)}, not a tuple of non-negative integers`);
    return items;
  };
  const persistentLoad = (pid: Value): Storage => {
    const items = pid instanceof Tuple ? pid.items : [];
    const [kind, type, key, , numel] = items;
    if (items.length !== 5 || kind !== 'storage' || !(type instanceof Global) || typeof key !== 'string') {
      throw bad(`a persistent id is not ('storage', type, key, location, numel) as torch.save writes it`);
    }
    const dtype = STORAGE_DTYPES.get(type.qualifiedName.slice('torch.'.length));
    if (!dtype) throw bad(`a persistent id names ${type.qualifiedName}, not a storage type`);
    const storage = new Storage(dtype, key, int(numel, `the element count of storage "${key}"`));
    const seen = storages.get(key);
    if (seen && (seen.dtype !== storage.dtype || seen.numel !== storage.numel))
      throw bad(`storage "${key}" is described twice, differently`);
    if (!seen) storages.set(key, storage);
    return seen ?? storage;
  };
  const reduce = (callable: Value, args: Value): Value => {
    if (!(callable instanceof Global) || !(args instanceof Tuple))
      throw bad(`REDUCE on ${describe(callable)} is not something a state dict needs`);
    const a = args.items;
    switch (callable.qualifiedName) {
      case ORDERED_DICT:
        if (a.length !== 0) throw bad('OrderedDict is called with arguments, which torch.save never writes');
        built(1);
        return new Dict();
      case REBUILD_TENSOR: {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.length < 6 || a.length > 7 || !(a[0] instanceof Storage))
          throw bad(`${REBUILD_TENSOR} is called with arguments torch.save does not write`);
        const shape = ints(a[2], 'a tensor size');
        const stride = ints(a[3], 'a tensor stride');
        if (shape.length !== stride.length)
          throw bad(`a tensor has size (${shape.join(', ')}) but stride (${stride.join(', ')})`);
        return new TensorRef(a[0], int(a[1], 'a storage offset'), shape, stride);
      }
      case REBUILD_PARAMETER:
        // (data, requires_grad, backward_hooks): a Parameter is its data as far as loading goes.
        if (a.length !== 3 || !(a[0] instanceof TensorRef))
          throw bad(`${REBUILD_PARAMETER} is called with arguments torch.save does not write`);
        return a[0];
      default:
        throw bad(
          `the pickle calls ${callable.qualifiedName}, which a state dict of tensors never does; refusing to go on`,
        );
    }
  };

  for (;;) {
    opcodeAt = pos;
    if (++ops > maxPickleOps) throw new LimitError('maxPickleOps', ops, `${source}: opcodes the pickle runs`);
    const op = bytes[need(1)];
    switch (op) {
      case 0x80: // PROTO
        if (bytes[need(1)] > 5) throw bad('pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length hint only
        need(8);
        break;
      case 0x2e: {
        // STOP
        const result = pop();
        if (stack.length || marks.length) throw bad('malformed pickle: values left on the stack at STOP');
        return stateDictOf(result, bad);
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x29: // EMPTY_TUPLE
        built(1);
        stack.push(new Tuple([]));
        break;
      case 0x74: {
        // TUPLE
        const members = popMark();
        built(1 + members.length);
        stack.push(new Tuple(members));
        break;
      }
      case 0x85: // TUPLE1
        built(2);
        stack.push(new Tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        built(3);
        stack.push(new Tuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        built(4);
        stack.push(new Tuple([pop(), b, c]));
        break;
      }
      case 0x7d: // EMPTY_DICT
        built(1);
        stack.push(new Dict());
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(bytes[need(1)]);
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(need(2), true));
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x8a: {
        // LONG1: a little-endian two's-complement integer of n bytes
        const n = bytes[need(1)];
        const at = need(n);
        let value = 0n;
        for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i]);
        if (n > 0 && bytes[at + n - 1] & 0x80) value -= 1n << BigInt(8 * n);
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER))
          throw bad(`the integer ${value} is too large`);
        stack.push(Number(value));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(utf8(view.getUint32(need(4), true)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(bytes[need(1)]));
        break;
      case 0x71: // BINPUT
        built(1);
        memo.set(bytes[need(1)], top());
        break;
      case 0x72: // LONG_BINPUT
        built(1);
        memo.set(view.getUint32(need(4), true), top());
        break;
      case 0x94: // MEMOIZE
        built(1);
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(get(bytes[need(1)]));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(get(view.getUint32(need(4), true)));
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw bad('malformed pickle: STACK_GLOBAL without two strings');
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(reduce(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: state dicts carry a `_metadata` attribute (module versions) that loading ignores.
        const state = pop();
        const target = top();
        if (!(target instanceof Dict) || !(state instanceof Dict))
          throw bad(`BUILD sets state on ${describe(target)}, which a state dict never does`);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      default:
        throw bad(
          `pickle opcode 0x${op.toString(16).padStart(2, '0')} is not one a torch.save state dict uses; refusing to go on`,
        );
    }
  }
}

function stateDictOf(result: Value, bad: (message: string) => MambaError): PickledTensor[] {
  if (!(result instanceof Dict)) throw bad(`the checkpoint holds ${describe(result)}, not a state dict of tensors`);
  const tensors: PickledTensor[] = [];
  for (const [name, value] of result.entries) {
    if (typeof name !== 'string') throw bad(`the state dict has the key ${name}; tensors are keyed by name`);
    if (!(value instanceof TensorRef)) throw bad(`state dict entry "${name}" is ${describe(value)}, not a tensor`);
    tensors.push({
      name,
      dtype: value.storage.dtype,
      storageKey: value.storage.key,
      storageNumel: value.storage.numel,
      storageOffset: value.offset,
      shape: value.shape,
      stride: value.stride,
    });
  }
  return tensors;
}
