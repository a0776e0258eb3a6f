// The wiring from backend events to stores, through a fake Wails runtime (window.runtime and
// window.go are the app's one seam to Go).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { get } from "svelte/store";
import { render } from "@testing-library/svelte";
import { connect, refreshInstances, segments, instances, throughput, jobs, playback, modelTask, notices, project, chapterId } from "./stores";
import DocumentView from "../components/DocumentView.svelte";
import type { Job, Segment } from "./backend";

type Handler = (p: unknown) => void;
let handlers: Map<string, Handler[]>;
const emit = (name: string, p: unknown) => handlers.get(name)?.forEach((h) => h(p));
const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
const seg = (id: number): Segment => ({ id, index: id, source: `Câu số ${id}.`, spoken: `câu số ${id}.`, state: "queued", seconds: 0, voice: "lan" });

let disconnect: () => void;
beforeEach(() => {
  handlers = new Map();
  window.runtime = {
    EventsOn: (name: string, cb: Handler) => {
      handlers.set(name, [...(handlers.get(name) ?? []), cb]);
      return () => handlers.set(name, (handlers.get(name) ?? []).filter((h) => h !== cb));
    },
  } as unknown as Window["runtime"];
  window.go = { main: { App: {
    Status: async () => ({ version: "t", provider: "cpu", ortVersion: "1.29.0", synthesizing: true, instances: 2, instancesReason: "r", modelInstalled: true, dataDir: "/d" }),
    Jobs: async () => get(jobs), Voices: async () => [], Model: async () => ({ installed: true }),
    Instances: async () => ["busy", "idle"],
  } } } as unknown as Window["go"];
  disconnect = connect();
});
afterEach(() => { disconnect(); delete window.runtime; delete window.go; });

describe("with 2,000 segments queued", () => {
  it("2,000 segment events make one store update in the next frame, and the list renders a screenful", async () => {
    segments.set(Array.from({ length: 2000 }, (_, i) => seg(i + 1)));
    project.set({ id: 1, title: "Sách", source: "sach.txt", format: "text", chapters: [{ id: 1, title: "Một" }] });
    chapterId.set(1);
    const { container } = render(DocumentView);
    const rowsBefore = container.querySelectorAll("[data-segment]").length;
    expect(rowsBefore).toBeGreaterThan(0);
    expect(rowsBefore).toBeLessThan(60);

    let updates = 0;
    const unsub = segments.subscribe(() => updates++);
    updates = 0;
    for (let i = 1; i <= 2000; i++) emit("segment", { id: i, jobId: 1, state: "running" });
    for (let i = 1; i <= 2000; i++) emit("segment", { id: i, jobId: 1, state: "done", seconds: 1.5 });
    expect(updates).toBe(0); // nothing yet: events wait for the frame
    await nextFrame();
    expect(updates).toBe(1);
    expect(get(segments).every((s) => s.state === "done" && s.seconds === 1.5)).toBe(true);
    unsub();
    await nextFrame();
    const rows = container.querySelectorAll("[data-segment]");
    expect(rows.length).toBe(rowsBefore);
    expect([...rows].every((r) => r.getAttribute("data-state") === "done")).toBe(true);
    project.set(undefined);
  });
});

describe("events", () => {
  it("instance events keep the busy and idle counts, pool events drop retired instances", () => {
    emit("instance", { Instance: 0, State: "busy", Size: 2, Reason: "", Err: "" });
    emit("instance", { Instance: 1, State: "idle", Size: 2, Reason: "", Err: "" });
    expect([...get(instances)]).toEqual([[0, "busy"], [1, "idle"]]);
    emit("instance", { Instance: -1, State: "resized", Size: 1, Reason: "out of memory", Err: "" });
    expect([...get(instances)]).toEqual([[0, "busy"]]);
  });
  it("the busy and idle counts start from the pool's states", async () => {
    instances.set(new Map());
    await refreshInstances();
    expect([...get(instances)]).toEqual([[0, "busy"], [1, "idle"]]);
  });
  it("job events measure throughput from the audio made", () => {
    const job: Job = { id: 1, projectId: 1, title: "a", state: "running", priority: 0, total: 10, done: 0, failed: 0, audioSeconds: 0 };
    jobs.set([job]);
    const now = vi.spyOn(performance, "now");
    for (const [t, audio] of [[0, 0], [1000, 3], [2000, 6]]) {
      now.mockReturnValue(t);
      emit("job", { JobID: 1, State: "running", Done: 1, Failed: 0, Canceled: 0, Total: 10, AudioSeconds: audio, ETA: 0, ETAKnown: false });
    }
    now.mockRestore();
    expect(get(throughput)).toBeCloseTo(3);
  });
  it("player events move the highlighted sentence", () => {
    emit("player", { kind: "segment", segmentId: 42, offset: 0 });
    expect(get(playback)).toMatchObject({ playing: true, segmentId: 42 });
    emit("player", { kind: "ended", offset: 0 });
    expect(get(playback).playing).toBe(false);
  });
  it("model events show progress, then the outcome", () => {
    emit("model", { stage: "download", what: "llm.pt", done: 0.25, finished: false });
    expect(get(modelTask)).toMatchObject({ stage: "download", done: 0.25 });
    emit("model", { stage: "compile", what: "", done: 1, finished: true, error: "đĩa đầy: giải phóng chỗ trống rồi thử lại" });
    expect(get(modelTask)).toBeUndefined();
    expect(get(notices).some((n) => n.kind === "error" && n.text.includes("đĩa đầy"))).toBe(true);
  });
});

describe("throughput with no events", () => {
  it("falls to 0 once synthesis stops", async () => {
    disconnect();
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
    try {
      disconnect = connect();
      const job: Job = { id: 1, projectId: 1, title: "a", state: "running", priority: 0, total: 10, done: 0, failed: 0, audioSeconds: 0 };
      jobs.set([job]);
      emit("job", { JobID: 1, State: "running", Done: 1, Failed: 0, Canceled: 0, Total: 10, AudioSeconds: 0, ETA: 0, ETAKnown: false });
      vi.advanceTimersByTime(5000);
      emit("job", { JobID: 1, State: "done", Done: 10, Failed: 0, Canceled: 0, Total: 10, AudioSeconds: 20, ETA: 0, ETAKnown: false });
      expect(get(throughput)).toBeGreaterThan(3);
      vi.advanceTimersByTime(40000); // no event: the ticks measure the same total
      expect(get(throughput)).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
