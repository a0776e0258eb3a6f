// Benchmarks of the event path a 2,000-segment queue puts through the window (run with
// `npx vitest bench --run`; numbers in docs/PERFORMANCE.md, "GUI").
import { bench, describe } from "vitest";
import { get } from "svelte/store";
import { applySegmentEvents, connect, segments } from "./stores";
import type { Segment, SegmentEvent } from "./backend";

const seg = (id: number): Segment => ({ id, index: id, source: `Câu số ${id}.`, spoken: `câu số ${id}.`, state: "queued", seconds: 0, voice: "lan" });
const list = Array.from({ length: 2000 }, (_, i) => seg(i + 1));
const events: SegmentEvent[] = Array.from({ length: 2000 }, (_, i) => ({ id: i + 1, jobId: 1, state: "done", seconds: 1.5 }));

describe("2,000 segments", () => {
  bench("applySegmentEvents: 2,000 events on 2,000 segments", () => {
    applySegmentEvents(list, events);
  });

  let handler: ((p: unknown) => void) | undefined;
  window.runtime = { EventsOn: (name: string, cb: (p: unknown) => void) => { if (name === "segment") handler = cb; return () => {}; } } as unknown as Window["runtime"];
  connect();
  bench("4,000 segment events through the Wails handler, then the frame's flush", async () => {
    segments.set(list);
    for (const e of events) handler!({ ...e, state: "running" });
    for (const e of events) handler!(e);
    await new Promise((r) => requestAnimationFrame(() => r(undefined)));
    if (get(segments)[0].state !== "done") throw new Error("events not applied");
  });
});
