// Application state. Components read these stores; only this module and backend.ts change them.
import { writable } from "svelte/store";
import type { Status } from "./backend";
import * as backend from "./backend";

export type View = "queue" | "settings";
export const view = writable<View>("queue");
export const status = writable<Status | undefined>(undefined);
export const theme = writable<"dark" | "light">("dark");

/** refreshStatus loads the backend status into the status store. */
export async function refreshStatus(): Promise<void> {
  status.set(await backend.status());
}
