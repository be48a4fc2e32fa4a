/**
 * Hot reloads that evaluate the modules anew in the same process (`bun --hot`): nothing tells
 * the old version of the app that a new one is coming, and the old one keeps running (its
 * server, timers and signal listeners). So the versions meet here, on `globalThis` (the one
 * thing a hot reload keeps): a new server retires the one of the previous version at the same
 * place (its drain and its shutdown, once) before its own startup.
 *
 * @module
 */
import { RELOAD, type Running } from "./lifecycle.ts";

/** Each live server of this process, by where it serves, across versions of the modules. */
type Registry = Map<string, () => Promise<unknown>>;

const REGISTRY = Symbol.for("@lifespan/hono: live servers");

function registry(): Registry {
  const holder = globalThis as { [REGISTRY]?: Registry };
  return holder[REGISTRY] ??= new Map();
}

/** Stops the server of the previous version at `place`, if there is one, and waits for it. */
export async function retirePrevious(place: string): Promise<void> {
  await registry().get(place)?.();
}

/** Makes `running` the server at `place`, for the next version to retire; until it stops. */
export function register(place: string, running: Running): void {
  const retire = () => running.stop(RELOAD);
  registry().set(place, retire);
  void running.stopped.then(() => {
    if (registry().get(place) === retire) registry().delete(place);
  });
}
