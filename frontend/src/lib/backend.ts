// The one module that talks to the Go side. Components never touch window.go or window.runtime:
// they call these typed functions and subscribe to typed events.
import type { ReasonCode } from "./i18n";

export interface Status {
  version: string;
  provider: string;
  ortVersion: string;
  synthesizing: boolean;
  instances: number;
  instancesReason: string;
  /** instancesReasonCode is instancesReason as a code the window translates. */
  instancesReasonCode?: ReasonCode;
  modelInstalled: boolean;
  dataDir: string;
  /** storageFull is set while rendering is held because the disk of the render cache (renderDir)
   * is full; it starts again by itself once space is freed. */
  storageFull?: boolean;
  renderDir?: string;
}

export type State = "new" | "queued" | "running" | "paused" | "done" | "failed" | "canceled";

export interface Job {
  id: number;
  projectId: number;
  title: string;
  state: State;
  priority: number;
  total: number;
  done: number;
  failed: number;
  audioSeconds: number;
  etaSeconds?: number;
}

/** Reading is how a document or chapter is read: voice is "" and speed 0 where its sentences differ. */
export interface ReadingPart { voice: string; speed: number; segments: number }
export interface Reading { voice: string; speed: number; voices: Record<string, number> | null; segments: number; parts: ReadingPart[] | null }
export interface Chapter { id: number; title: string; reading?: Reading }
export interface Project { id: number; title: string; source: string; format: string; chapters: Chapter[]; reading?: Reading }

export interface Segment {
  id: number;
  index: number;
  source: string;
  spoken: string;
  state: State;
  seconds: number;
  error?: string;
  voice: string;
}

/** Takes is where a sentence stands among its takes (renderings with different seeds): count of
 * them and the one it reads with now (from 0). */
export interface Takes { segmentId: number; count: number; current: number }

export interface ImportResult { path: string; projectId?: number; jobId?: number; segments?: number; error?: string }

export interface FormatInfo {
  Format: string; Name: string; Ext: string; Lossy: boolean; Chapters: boolean;
  Available: boolean; Reason: string; DefaultBitrate: number;
  /** Why is Reason as a code the window translates. */
  Why?: ReasonCode;
}

export interface ExportRequest {
  projectId: number; format: string; bitrate: number; split: string; subtitles: string;
  loudness: string; title: string; author: string; narrator: string; cover: string; out: string;
}

export interface Preferences {
  language: "vi" | "en"; theme: "dark" | "light"; outputDir: string; provider: string; instances: string;
  /** voice is the voice new documents are read with ("" the model's first). */
  voice: string;
}
export interface ProviderView {
  name: string; available: boolean; reason?: string; fix?: string;
  /** reasonCode and fixCode are reason and fix as codes the window translates. */
  reasonCode?: ReasonCode; fixCode?: ReasonCode;
}
export interface GPUView { name: string; freeBytes: number; totalBytes: number }
export interface DeviceInfo {
  providers: ProviderView[] | null; selected: string; running: boolean; instances: number; reason: string; reasonCode?: ReasonCode;
  gpus: GPUView[] | null; gpuNote?: string;
}
export interface ModelInfo {
  installed: boolean; dir: string; modelId: string; random: boolean; license: string; bytes: number;
  graphs: number; voices: number; problem?: string;
  /** outdated: built by an older version of the app; rebuild it (canRebuild) or download it. */
  outdated?: boolean;
  /** sourceDir is the checkpoint a rebuild compiles: the kept download (sourceDownloaded) or the
   * user's folder of the last install. */
  sourceDir?: string; sourceDownloaded?: boolean; canRebuild?: boolean; sourceProblem?: string;
  /** keptBytes is the space the kept download in keptDir takes (0: none kept). */
  keptDir?: string; keptBytes?: number;
}
export interface ModelEvent { stage: string; what: string; done: number; finished: boolean; error?: string; model?: ModelInfo }
export interface Voice { id: string; name: string; builtIn: boolean; source: string; seconds: number }
export interface VoiceEvent { clip: string; voice?: Voice; error?: string }
export interface EnginesEvent { running: boolean; instances: number; reason: string; reasonCode?: ReasonCode; error?: string }

/** Events the backend sends, by name. */
export interface JobEvent {
  JobID: number; State: State; Done: number; Failed: number; Canceled: number; Total: number;
  AudioSeconds: number; ETA: number; ETAKnown: boolean;
}
export interface SegmentEvent { id: number; jobId: number; state: State; seconds?: number; error?: string }
export interface PlayerEvent { kind: string; segmentId?: number; offset: number; error?: string }
export interface InstanceEvent { Instance: number; State: string; Size: number; Reason: string; Err: string }
export interface Events {
  job: JobEvent;
  segment: SegmentEvent;
  player: PlayerEvent;
  instance: InstanceEvent;
  import: ImportResult;
  export: { projectId: number; progress: number };
  model: ModelEvent;
  voice: VoiceEvent;
  engines: EnginesEvent;
  storage: StorageEvent;
}

/** StorageEvent says rendering is held because the disk of the render cache is full, or started again. */
export interface StorageEvent { full: boolean; dir: string; error?: string }

type GoApp = {
  Status(): Promise<Status>;
  Jobs(): Promise<Job[] | null>;
  Project(id: number): Promise<Project>;
  Segments(chapterId: number): Promise<Segment[] | null>;
  ImportFiles(paths: string[]): Promise<ImportResult[]>;
  OpenFiles(): Promise<ImportResult[] | null>;
  PauseJob(id: number): Promise<void>;
  ResumeJob(id: number): Promise<void>;
  CancelJob(id: number): Promise<void>;
  RetryJob(id: number): Promise<void>;
  MoveJob(id: number, before: number): Promise<void>;
  RetrySegment(id: number): Promise<void>;
  EditSegment(id: number, spoken: string): Promise<void>;
  AddLexiconEntry(projectId: number, pattern: string, spoken: string, regex: boolean): Promise<number[] | null>;
  SetReading(projectId: number, chapterId: number, voice: string, speed: number): Promise<number[] | null>;
  Takes(segmentId: number): Promise<Takes>;
  NewTake(segmentId: number): Promise<Takes>;
  UseTake(segmentId: number, index: number): Promise<Takes>;
  Play(projectId: number, segmentId: number): Promise<void>;
  Pause(): Promise<void>;
  Resume(): Promise<void>;
  Stop(): Promise<void>;
  SetRate(r: number): Promise<void>;
  Skip(delta: number): Promise<void>;
  SetVolume(v: number): Promise<void>;
  ExportFormats(): Promise<FormatInfo[]>;
  Export(req: ExportRequest): Promise<string[] | null>;
  Preferences(): Promise<Preferences>;
  SetPreferences(p: Preferences): Promise<void>;
  Device(): Promise<DeviceInfo>;
  Instances(): Promise<string[] | null>;
  Model(): Promise<ModelInfo>;
  DownloadModel(): Promise<void>;
  InstallModelFrom(folder: string): Promise<string>;
  VerifyModel(): Promise<void>;
  RebuildModel(): Promise<void>;
  RemoveModelSource(): Promise<ModelInfo>;
  Voices(): Promise<Voice[] | null>;
  PreviewVoice(id: string): Promise<void>;
  AddVoice(name: string, clip: string): Promise<string>;
  ChooseFolder(title: string): Promise<string>;
  ChooseCover(): Promise<string>;
};

declare global {
  interface Window {
    go?: { main?: { App?: GoApp } };
    runtime?: {
      EventsOn(name: string, cb: (...args: unknown[]) => void): () => void;
      OnFileDrop?(cb: (x: number, y: number, paths: string[]) => void, useDropTarget: boolean): void;
    };
  }
}

function app(): GoApp {
  const a = window.go?.main?.App;
  if (!a) throw new Error("backend not connected");
  return a;
}

/** connected reports whether the page runs inside the app (or its dev server) with the Go backend. */
export function connected(): boolean {
  return window.go?.main?.App !== undefined;
}

export const api = {
  status: () => app().Status(),
  jobs: async () => (await app().Jobs()) ?? [],
  project: (id: number) => app().Project(id),
  segments: async (chapterId: number) => (await app().Segments(chapterId)) ?? [],
  importFiles: (paths: string[]) => app().ImportFiles(paths),
  openFiles: async () => (await app().OpenFiles()) ?? [],
  pauseJob: (id: number) => app().PauseJob(id),
  resumeJob: (id: number) => app().ResumeJob(id),
  cancelJob: (id: number) => app().CancelJob(id),
  retryJob: (id: number) => app().RetryJob(id),
  moveJob: (id: number, before: number) => app().MoveJob(id, before),
  retrySegment: (id: number) => app().RetrySegment(id),
  editSegment: (id: number, spoken: string) => app().EditSegment(id, spoken),
  addLexiconEntry: async (projectId: number, pattern: string, spoken: string, regex = false) =>
    (await app().AddLexiconEntry(projectId, pattern, spoken, regex)) ?? [],
  /** setReading gives a document (chapterId 0) or a chapter a voice (speed 0 keeps each sentence's);
   * it returns the ids of the sentences read again. */
  setReading: async (projectId: number, chapterId: number, voice: string, speed = 0) =>
    (await app().SetReading(projectId, chapterId, voice, speed)) ?? [],
  takes: (segmentId: number) => app().Takes(segmentId),
  /** newTake renders a sentence again with a new seed; a "segment" event says when it is done. */
  newTake: (segmentId: number) => app().NewTake(segmentId),
  /** useTake goes back to take index (from 0); a take still rendered is done at once. */
  useTake: (segmentId: number, index: number) => app().UseTake(segmentId, index),
  play: (projectId: number, segmentId: number) => app().Play(projectId, segmentId),
  pause: () => app().Pause(),
  resume: () => app().Resume(),
  stop: () => app().Stop(),
  setRate: (r: number) => app().SetRate(r),
  skip: (delta: number) => app().Skip(delta),
  setVolume: (v: number) => app().SetVolume(v),
  exportFormats: () => app().ExportFormats(),
  exportBook: async (req: ExportRequest) => (await app().Export(req)) ?? [],
  preferences: () => app().Preferences(),
  setPreferences: (p: Preferences) => app().SetPreferences(p),
  device: () => app().Device(),
  instances: async () => (await app().Instances()) ?? [],
  model: () => app().Model(),
  downloadModel: () => app().DownloadModel(),
  installModelFrom: (folder = "") => app().InstallModelFrom(folder),
  verifyModel: () => app().VerifyModel(),
  rebuildModel: () => app().RebuildModel(),
  removeModelSource: () => app().RemoveModelSource(),
  voices: async () => (await app().Voices()) ?? [],
  previewVoice: (id: string) => app().PreviewVoice(id),
  addVoice: (name: string, clip = "") => app().AddVoice(name, clip),
  chooseFolder: (title: string) => app().ChooseFolder(title),
  chooseCover: () => app().ChooseCover(),
};

/** status returns the backend status, or undefined outside the app. */
export async function status(): Promise<Status | undefined> {
  return connected() ? api.status() : undefined;
}

/** onEvent subscribes to a backend event; the returned function unsubscribes. */
export function onEvent<K extends keyof Events>(name: K, cb: (payload: Events[K]) => void): () => void {
  if (!window.runtime) return () => {};
  return window.runtime.EventsOn(name, (p) => cb(p as Events[K]));
}

/** onFileDrop calls cb with the paths dropped on an element styled as a drop target. */
export function onFileDrop(cb: (paths: string[]) => void): void {
  window.runtime?.OnFileDrop?.((_x, _y, paths) => cb(paths), true);
}
