// Zuora-looking 32-hex ids that encode where a row comes from, so a generated row is found from its id alone:
// tag (8, from the seed) | object code (2) | kind (1: generated or inserted) | index (13) | check word (8).
import type { SchemaObject } from '../schema.ts';
import { mix32 } from './random.ts';

const ID_LENGTH = 32;
export const KIND_GENERATED = '0';
export const KIND_INSERTED = '1';
export type IdKind = typeof KIND_GENERATED | typeof KIND_INSERTED;

/** Object codes by name, checked once: each code fits the id's two hex digits and belongs to one object only. */
export function objectCodes(objects: readonly SchemaObject[]): Map<string, number> {
  const codes = new Map<string, number>();
  const owners = new Map<number, string>();
  for (const def of objects) {
    if (!Number.isInteger(def.code) || def.code < 1 || def.code > 0xff) {
      throw new Error(`Object ${def.name} has code ${def.code}: codes are whole numbers from 1 to 255`);
    }
    const owner = owners.get(def.code);
    if (owner !== undefined) throw new Error(`Objects ${owner} and ${def.name} share code ${def.code}`);
    owners.set(def.code, def.name);
    codes.set(def.name, def.code);
  }
  return codes;
}

export class IdMinter {
  private readonly tagWord: number;
  private readonly tag: string;

  constructor(
    seed: number,
    private readonly codes: ReadonlyMap<string, number>,
    private readonly counts: Readonly<Record<string, number>>,
  ) {
    this.tagWord = mix32(seed ^ 0x5bd1e995);
    this.tag = this.tagWord.toString(16).padStart(8, '0');
  }

  codeOf(object: string): number {
    const code = this.codes.get(object);
    if (code === undefined) throw new Error(`Unknown object "${object}"`);
    return code;
  }

  mint(object: string, kind: IdKind, index: number): string {
    const code = this.codeOf(object);
    // The check word makes ids look random and lets get() reject forged ones; one mix is enough for that.
    const salt = kind === KIND_INSERTED ? 0x5555 : 0;
    const check = mix32(this.tagWord ^ Math.imul(code, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b) ^ salt)
      .toString(16)
      .padStart(8, '0');
    return `${this.tag}${codeHex(code)}${kind}${index.toString(16).padStart(13, '0')}${check}`;
  }

  /** The generated index encoded in `id`, or undefined when `id` is not a generated id of `object`. */
  generatedIndex(object: string, id: string): number | undefined {
    if (id.length !== ID_LENGTH || !id.startsWith(this.tag)) return undefined;
    if (id.slice(8, 10) !== codeHex(this.codeOf(object)) || id[10] !== KIND_GENERATED) return undefined;
    const indexHex = id.slice(11, 24);
    if (!/^[0-9a-f]{13}$/.test(indexHex)) return undefined;
    const index = parseInt(indexHex, 16);
    if (index >= (this.counts[object] ?? 0) || this.mint(object, KIND_GENERATED, index) !== id) return undefined;
    return index;
  }
}

const CODE_HEX = Array.from({ length: 0x100 }, (_, code) => code.toString(16).padStart(2, '0'));

function codeHex(code: number): string {
  return CODE_HEX[code] ?? '';
}
