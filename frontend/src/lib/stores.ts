// Application state. Components read these stores; only this module changes them, from backend
// calls and backend events. Events are applied in batches (at most one store update per frame) so
// a queue of thousands of segments never floods the UI.
import { get, writable } from "svelte/store";
import type {
  ImportResult, InstanceEvent, Job, JobEvent, ModelEvent, PlayerEvent, Preferences, Project, Segment, SegmentEvent, Status, Voice,
} from "./backend";
import { locale, t } from "./i18n";

const translateNow = (key: string, vars?: Record<string, string | number>) => get(t)(key, vars);
import { api, connected, onEvent, onFileDrop } from "./backend";
import * as backend from "./backend";

export type View = "queue" | "document" | "voices" | "settings";
export const view = writable<View>("queue");
export const status = writable<Status | undefined>(undefined);
export const theme = writable<"dark" | "light">("dark");
export const jobs = writable<Job[]>([]);
export const selectedJobs = writable<Set<number>>(new Set());
export const project = writable<Project | undefined>(undefined);
export const chapterId = writable<number>(0);
export const segments = writable<Segment[]>([]);
export const showSpoken = writable<boolean>(false);
export const preferences = writable<Preferences>({ language: "vi", theme: "dark", outputDir: "", provider: "auto", instances: "default", voice: "" });
export const voices = writable<Voice[]>([]);
/** modelTask is the model download, install or verification under way (undefined: none). */
export const modelTask = writable<ModelEvent | undefined>(undefined);
/** instances maps each synthesis instance to its state (loading, idle, busy, failed...). */
export const instances = writable<Map<number, string>>(new Map());
/** throughput is seconds of audio synthesized per second of wall time, over the last half minute. */
export const throughput = writable<number>(0);
/** firstRunDismissed hides the first-run dialog for this session. */
export const firstRunDismissed = writable<boolean>(false);

export interface Playback {
  playing: boolean; paused: boolean; waiting: boolean; segmentId: number; offset: number; rate: number; volume: number;
  /** previewVoice is the voice being previewed (segmentId is 0 then). */
  previewVoice?: string;
}
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
    case "segment": // a preview's one item has no segment id
      return { ...p, playing: true, paused: false, waiting: false, segmentId: e.segmentId ?? 0, offset: e.offset };
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
      return { ...p, playing: false, paused: false, waiting: false, previewVoice: undefined };
  }
  return p;
}

/** applyInstanceEvent returns the instance states after e; a pool event (Instance -1) that
 * shrinks the pool drops the instances beyond its size. */
export function applyInstanceEvent(m: Map<number, string>, e: InstanceEvent): Map<number, string> {
  const out = new Map(m);
  if (e.Instance < 0) {
    for (const k of out.keys()) if (k >= e.Size) out.delete(k);
    return out;
  }
  if (e.State === "retired") out.delete(e.Instance);
  else out.set(e.Instance, e.State);
  return out;
}

/** countInstances returns how many instances are busy and how many idle. */
export function countInstances(m: Map<number, string>): { busy: number; idle: number } {
  let busy = 0, idle = 0;
  for (const s of m.values()) {
    if (s === "busy") busy++;
    else if (s === "idle") idle++;
  }
  return { busy, idle };
}

export interface Sample { t: number; audio: number }

/** addSample appends the total audio seconds at time t (ms) and drops samples older than window
 * ms; a drop in the total (a job removed or retried) starts the measurement over. */
export function addSample(samples: Sample[], t: number, audio: number, window = 30000): Sample[] {
  const last = samples[samples.length - 1];
  const kept = last && audio < last.audio ? [] : samples.filter((s) => t - s.t <= window);
  return [...kept, { t, audio }];
}

/** rateOf returns the audio seconds made per wall second across samples (0 with too little data). */
export function rateOf(samples: Sample[]): number {
  if (samples.length < 2) return 0;
  const a = samples[0], b = samples[samples.length - 1];
  const dt = (b.t - a.t) / 1000;
  return dt >= 1 ? Math.max(0, (b.audio - a.audio) / dt) : 0;
}

/** formatBytes writes a size in binary units. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
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
  await refreshInstances();
}

/** refreshInstances starts the busy/idle counts from the pool's states; events keep them after. */
export async function refreshInstances(): Promise<void> {
  if (!connected()) return;
  const list = await attempt(api.instances);
  if (list) instances.set(new Map(list.map((s, i) => [i, s])));
}

/** loadPreferences reads the stored settings and applies language and theme. */
export async function loadPreferences(): Promise<void> {
  if (!connected()) return;
  const p = await attempt(api.preferences);
  if (p) applyPreferences(p);
}

function applyPreferences(p: Preferences): void {
  preferences.set(p);
  locale.set(p.language);
  theme.set(p.theme);
}

/** saving is the last settings change on its way to the backend. */
let saving: Promise<unknown> = Promise.resolve();

/** savePreferences stores a change of settings; on error the old settings stay. Changes reach the
 * backend one after another, in the order they were made, each on top of the one before (two
 * quick changes, such as choosing a fixed instance count and then typing it, once reached the
 * backend in the other order and the first one won). */
export function savePreferences(change: Partial<Preferences>): Promise<boolean> {
  const run = saving.then(() => saveNow(change));
  saving = run.catch(() => undefined);
  return run;
}

async function saveNow(change: Partial<Preferences>): Promise<boolean> {
  const next = { ...get(preferences), ...change };
  if (!connected()) {
    applyPreferences(next);
    return true;
  }
  try {
    await api.setPreferences(next);
  } catch (e) {
    notify("error", String((e as Error)?.message ?? e), 10000);
    return false;
  }
  applyPreferences(next);
  return true;
}

export async function refreshVoices(): Promise<void> {
  if (!connected()) return;
  const list = await attempt(api.voices);
  if (list) voices.set(list);
}

let samples: Sample[] = [];
/** throughputTick is how often the throughput is measured again when no job event comes, so it
 * falls to 0 once synthesis stops. */
const throughputTick = 2000;
function measureThroughput(list: Job[]): void {
  const now = typeof performance !== "undefined" ? performance.now() : Date.now();
  samples = addSample(samples, now, list.reduce((a, j) => a + j.audioSeconds, 0));
  throughput.set(rateOf(samples));
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
      measureThroughput(get(jobs));
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
    onEvent("instance", (e) => {
      instances.update((m) => applyInstanceEvent(m, e));
      if (e.Instance < 0) refreshStatus();
    }),
    onEvent("import", (r) => reportImports([r])),
    onEvent("model", (e) => {
      modelTask.set(e.finished ? undefined : e);
      if (e.finished) {
        if (e.error) notify("error", e.error, 15000);
        else notify("info", translateNow("model.ready"));
        refreshStatus();
        refreshVoices();
      }
    }),
    onEvent("voice", (e) => {
      if (e.error) notify("error", e.error, 12000);
      else if (e.voice) notify("info", translateNow("voices.added", { name: e.voice.name }));
      refreshVoices();
    }),
    onEvent("engines", (e) => {
      if (e.error) notify("error", e.error, 12000);
      refreshStatus();
    }),
    onEvent("storage", (e) => {
      if (e.full) notify("error", translateNow("status.diskFull", { dir: e.dir }), 20000);
      else notify("info", translateNow("status.diskFreed"));
      refreshStatus();
    }),
  ];
  const tick = setInterval(() => measureThroughput(get(jobs)), throughputTick);
  onFileDrop((paths) => {
    // the backend imports dropped files itself (Go's OnFileDrop); here we only refresh
    setTimeout(refreshJobs, 300);
    void paths;
  });
  return () => {
    clearInterval(tick);
    offs.forEach((off) => off());
  };
}
