/**
 * Timers that never outlive what they wait for, and treat a delay too long for `setTimeout`
 * (`Infinity` included) as "no limit" rather than the 1 ms every runtime turns it into.
 *
 * @module
 */

import { clearInterval, setInterval } from "node:timers";

/** The longest delay `setTimeout` keeps; a longer one fires after 1 ms. */
export const MAX_TIMER_DELAY: number = 2 ** 31 - 1;

/** Whether `work` settles within `ms`; rejects if it rejects first. The timer is cleared. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms > MAX_TIMER_DELAY) return await work.then(() => true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(resolve, ms, false));
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles like `work`, or rejects with `onTimeout()` after `ms`. */
export async function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => unknown,
): Promise<T> {
  let result!: T;
  const settled = await settlesWithin(work.then((value) => void (result = value)), ms);
  if (!settled) throw onTimeout();
  return result;
}

/** Resolves after `ms`; never, for a delay too long for a timer. */
export function delay(ms: number): Promise<void> {
  if (ms > MAX_TIMER_DELAY) return new Promise(() => {});
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `fn` every `ms` (with how many times it has, from 1) until the returned function is
 * called. The timer does not keep the process alive: it reports on work, it is none
 * (`node:timers`' timers can be unref'd on Deno too, where the global ones are numbers).
 */
export function every(ms: number, fn: (count: number) => void): () => void {
  if (ms > MAX_TIMER_DELAY) return () => {};
  let count = 0;
  const timer = setInterval(() => fn(++count), ms);
  timer.unref();
  return () => clearInterval(timer);
}
