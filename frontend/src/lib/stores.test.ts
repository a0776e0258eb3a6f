import { describe, expect, it } from "vitest";
import { applyJobEvent, applyPlayerEvent, applySegmentEvents, formatDuration } from "./stores";
import type { Job, Segment } from "./backend";

const job = (id: number): Job => ({ id, projectId: id, title: `Sách ${id}`, state: "queued", priority: 0, total: 10, done: 0, failed: 0, audioSeconds: 0 });
const seg = (id: number): Segment => ({ id, index: id, source: `Câu ${id}.`, spoken: `câu ${id}.`, state: "queued", seconds: 0, voice: "lan" });

describe("job events", () => {
  it("update only the job they name, with the ETA in seconds", () => {
    const out = applyJobEvent([job(1), job(2)], { JobID: 2, State: "running", Done: 4, Failed: 1, Canceled: 0, Total: 10, AudioSeconds: 12.5, ETA: 30e9, ETAKnown: true });
    expect(out[0]).toEqual(job(1));
    expect(out[1]).toMatchObject({ state: "running", done: 4, failed: 1, audioSeconds: 12.5, etaSeconds: 30 });
  });
  it("leave the ETA unknown until it is measured", () => {
    const out = applyJobEvent([job(1)], { JobID: 1, State: "running", Done: 0, Failed: 0, Canceled: 0, Total: 10, AudioSeconds: 0, ETA: 0, ETAKnown: false });
    expect(out[0].etaSeconds).toBeUndefined();
  });
});

describe("segment events", () => {
  it("apply in batches, the last event of a segment winning", () => {
    const out = applySegmentEvents([seg(1), seg(2), seg(3)], [
      { id: 2, jobId: 1, state: "running" },
      { id: 2, jobId: 1, state: "done", seconds: 2.5 },
      { id: 3, jobId: 1, state: "failed", error: "văn bản quá dài" },
    ]);
    expect(out.map((s) => s.state)).toEqual(["queued", "done", "failed"]);
    expect(out[1].seconds).toBe(2.5);
    expect(out[2].error).toBe("văn bản quá dài");
  });
  it("keep the same array when nothing changes (no re-render of 2,000 rows)", () => {
    const segs = [seg(1)];
    expect(applySegmentEvents(segs, [{ id: 9, jobId: 1, state: "done" }])).toEqual(segs);
    expect(applySegmentEvents(segs, [])).toBe(segs);
  });
  it("handle 2,000 segments and 2,000 events quickly enough for one frame", () => {
    const segs = Array.from({ length: 2000 }, (_, i) => seg(i));
    const evs = Array.from({ length: 2000 }, (_, i) => ({ id: i, jobId: 1, state: "done" as const }));
    const out = applySegmentEvents(segs, evs);
    expect(out.every((s) => s.state === "done")).toBe(true);
  });
});

describe("player events", () => {
  const idle = { playing: false, paused: false, waiting: false, segmentId: 0, offset: 0, rate: 1, volume: 1 };
  it("follow the segment being heard", () => {
    let p = applyPlayerEvent(idle, { kind: "segment", segmentId: 7, offset: 0 });
    expect(p).toMatchObject({ playing: true, segmentId: 7 });
    p = applyPlayerEvent(p, { kind: "paused", offset: 1 });
    expect(p.paused).toBe(true);
    p = applyPlayerEvent(p, { kind: "ended", offset: 0 });
    expect(p.playing).toBe(false);
  });
});

describe("durations", () => {
  it("read as m:ss or h:mm:ss", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(75)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
  });
});

import { addSample, applyInstanceEvent, countInstances, formatBytes, rateOf } from "./stores";

describe("instances", () => {
  it("count busy and idle, and forget retired ones", () => {
    let m = new Map<number, string>();
    m = applyInstanceEvent(m, { Instance: 0, State: "loading", Size: 3, Reason: "", Err: "" });
    m = applyInstanceEvent(m, { Instance: 1, State: "busy", Size: 3, Reason: "", Err: "" });
    m = applyInstanceEvent(m, { Instance: 2, State: "idle", Size: 3, Reason: "", Err: "" });
    expect(countInstances(m)).toEqual({ busy: 1, idle: 1 });
    m = applyInstanceEvent(m, { Instance: 1, State: "retired", Size: 3, Reason: "", Err: "" });
    expect(countInstances(m)).toEqual({ busy: 0, idle: 1 });
  });
});

describe("throughput", () => {
  it("is audio seconds per wall second over the window", () => {
    let s = addSample([], 0, 0);
    expect(rateOf(s)).toBe(0);
    s = addSample(s, 20000, 50);
    expect(rateOf(s)).toBe(2.5);
    s = addSample(s, 45000, 100); // the first sample is now out of the 30 s window
    expect(s.length).toBe(2);
    expect(rateOf(s)).toBe(2);
  });
  it("starts over when the total drops (a job removed)", () => {
    let s = addSample(addSample([], 0, 0), 5000, 50);
    s = addSample(s, 6000, 10);
    expect(s).toEqual([{ t: 6000, audio: 10 }]);
    expect(rateOf(s)).toBe(0);
  });
});

describe("sizes", () => {
  it("read in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(12.5 * 1024 * 1024)).toBe("12.5 MiB");
    expect(formatBytes(80 * 1024 ** 3)).toBe("80.0 GiB");
  });
});
