// Application state. Components read these stores; only this module changes them, from backend
// calls and backend events. Events are applied in batches (at most one store update per frame) so
// a queue of thousands of segments never floods the UI.
import { get, writable } from "svelte/store";
import type { ImportResult, Job, JobEvent, PlayerEvent, Project, Segment, SegmentEvent, Status } from "./backend";
import { api, connected, onEvent, onFileDrop } from "./backend";
import * as backend from "./backend";

export type View = "queue" | "document" | "settings";
export const view = writable<View>("queue");
export const status = writable<Status | undefined>(undefined);
export const theme = writable<"dark" | "light">("dark");
export const jobs = writable<Job[]>([]);
export const selectedJobs = writable<Set<number>>(new Set());
export const project = writable<Project | undefined>(undefined);
export const chapterId = writable<number>(0);
export const segments = writable<Segment[]>([]);
export const showSpoken = writable<boolean>(false);

export interface Playback { playing: boolean; paused: boolean; waiting: boolean; segmentId: number; offset: number; rate: number; volume: number }
export const playback = writable<Playback>({ playing: false, paused: false, waiting: false, segmentId: 0, offset: 0, rate: 1, volume: 1 });

export interface Notice { id: number; kind: "error" | "info"; text: string }
export const notices = writable<Notice[]>([]);
let noticeSeq = 0;

/** notify shows a message for a while. */
export function notify(kind: Notice["kind"], text: string, ms = 6000): void {
  const id = ++noticeSeq;
  notices.update((n) => [...n, { id, kind, text }]);
  setTimeout(() => notices.update((n) => n.filter((x) => x.id !== id)), ms);
}

/** attempt runs a backend call and shows its error instead of throwing. */
export async function attempt<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    notify("error", String((e as Error)?.message ?? e));
    return undefined;
  }
}

// --- pure updates (unit-tested) ---------------------------------------------------------------

/** applyJobEvent returns jobs with e applied; a job not in the list is left for the next refresh. */
export function applyJobEvent(list: Job[], e: JobEvent): Job[] {
  return list.map((j) =>
    j.id === e.JobID
      ? { ...j, state: e.State, done: e.Done, failed: e.Failed, total: e.Total, audioSeconds: e.AudioSeconds,
          etaSeconds: e.ETAKnown ? e.ETA / 1e9 : undefined }
      : j,
  );
}

/** applySegmentEvents returns segs with every event applied (the last event of a segment wins). */
export function applySegmentEvents(segs: Segment[], evs: SegmentEvent[]): Segment[] {
  if (evs.length === 0) return segs;
  const last = new Map<number, SegmentEvent>();
  for (const e of evs) last.set(e.id, e);
  let changed = false;
  const out = segs.map((s) => {
    const e = last.get(s.id);
    if (!e) return s;
    changed = true;
    return { ...s, state: e.state, seconds: e.seconds ?? s.seconds, error: e.error };
  });
  return changed ? out : segs;
}

/** applyPlayerEvent returns the playback state after e. */
export function applyPlayerEvent(p: Playback, e: PlayerEvent): Playback {
  switch (e.kind) {
    case "segment":
    case "position":
      return { ...p, playing: true, paused: false, waiting: false, segmentId: e.segmentId ?? p.segmentId, offset: e.offset };
    case "waiting":
      return { ...p, waiting: true, segmentId: e.segmentId ?? p.segmentId };
    case "paused":
      return { ...p, paused: true };
    case "resumed":
      return { ...p, paused: false };
    case "stopped":
    case "ended":
      return { ...p, playing: false, paused: false, waiting: false };
  }
  return p;
}

/** formatDuration writes seconds as h:mm:ss or m:ss. */
export function formatDuration(s: number): string {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? h + ":" : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

// --- wiring -------------------------------------------------------------------------------------

export async function refreshStatus(): Promise<void> {
  status.set(await backend.status());
}

export async function refreshJobs(): Promise<void> {
  if (!connected()) return;
  const list = await attempt(api.jobs);
  if (list) jobs.set(list);
}

export async function openProject(id: number, chapter = 0): Promise<void> {
  const p = await attempt(() => api.project(id));
  if (!p) return;
  project.set(p);
  view.set("document");
  await openChapter(chapter || p.chapters[0]?.id || 0);
}

export async function openChapter(id: number): Promise<void> {
  chapterId.set(id);
  segments.set(id ? ((await attempt(() => api.segments(id))) ?? []) : []);
}

export async function importFiles(paths: string[]): Promise<void> {
  const results = (await attempt(() => api.importFiles(paths))) ?? [];
  reportImports(results);
}

function reportImports(results: ImportResult[]): void {
  for (const r of results) {
    if (r.error) notify("error", r.error, 10000);
  }
  refreshJobs();
}

let pendingSegments: SegmentEvent[] = [];
let flushScheduled = false;
function flush(): void {
  flushScheduled = false;
  const evs = pendingSegments;
  pendingSegments = [];
  segments.update((s) => applySegmentEvents(s, evs));
}
const schedule = (f: () => void) =>
  typeof requestAnimationFrame === "function" ? requestAnimationFrame(f) : setTimeout(f, 16);

/** connect subscribes the stores to backend events; it returns a function that unsubscribes. */
export function connect(): () => void {
  const offs = [
    onEvent("job", (e) => {
      const known = get(jobs).some((j) => j.id === e.JobID);
      if (known) jobs.update((l) => applyJobEvent(l, e));
      else refreshJobs();
    }),
    onEvent("segment", (e) => {
      pendingSegments.push(e);
      if (!flushScheduled) {
        flushScheduled = true;
        schedule(flush);
      }
    }),
    onEvent("player", (e) => {
      playback.update((p) => applyPlayerEvent(p, e));
      if (e.error) notify("error", e.error);
    }),
    onEvent("instance", () => refreshStatus()),
    onEvent("import", (r) => reportImports([r])),
  ];
  onFileDrop((paths) => {
    // the backend imports dropped files itself (Go's OnFileDrop); here we only refresh
    setTimeout(refreshJobs, 300);
    void paths;
  });
  return () => offs.forEach((off) => off());
}
