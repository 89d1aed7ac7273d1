/**
 * The size limits of the readers that depend on the heap, computed in one place: a share of the
 * heap, and never more than V8 can hold in one string.
 */
import { constants } from 'node:buffer';
import { getHeapStatistics } from 'node:v8';

export const MIB = 1024 * 1024;

/**
 * The most text (UTF-16 code units) atlas lets one value or record grow to, whatever the heap:
 * half of V8's longest string (~512 MiB on 64-bit), less 8 MiB, so 247 MiB. A value may pass
 * a limit by one input piece (~1 MiB) before it is checked, and it is escaped for COPY (a run of
 * backslashes doubles) into one string, which must stay under V8's limit: past it, V8 throws
 * "Invalid string length" instead of atlas saying which limit was passed.
 */
export const MAX_TEXT_CHARS = Math.floor(constants.MAX_STRING_LENGTH / 2 / MIB) * MIB - 8 * MIB;

/** This process's heap limit in bytes (V8's heap_size_limit), which the readers' limits are shares of. */
export function heapSizeLimit(): number {
  return getHeapStatistics().heap_size_limit;
}

/**
 * 1/`share` of the heap (`heapBytes`, this process's by default) in whole MiB: at least 1 MiB,
 * at most MAX_TEXT_CHARS.
 */
export function heapShare(share: number, heapBytes: number = heapSizeLimit()): number {
  return Math.min(MAX_TEXT_CHARS, Math.max(MIB, Math.floor(heapBytes / share / MIB) * MIB));
}
