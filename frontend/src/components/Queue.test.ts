import { describe, expect, it } from "vitest";
import { render } from "@testing-library/svelte";
import Queue from "./Queue.svelte";
import { jobs } from "../lib/stores";
import type { Job } from "../lib/backend";

const job = (id: number, state: Job["state"] = "running"): Job => ({ id, projectId: id, title: `Truyện ngắn ${id}`, state, priority: 0, total: 40, done: 10, failed: 0, audioSeconds: 65, etaSeconds: 90 });

describe("Queue", () => {
  it("shows the drop target when there is no job", () => {
    jobs.set([]);
    const { container } = render(Queue);
    expect(container.textContent).toContain("Kéo thả tài liệu vào đây");
  });
  it("shows a card per job with progress, audio length, ETA and the actions its state allows", () => {
    jobs.set([job(1), job(2, "paused"), job(3, "failed")]);
    const { container } = render(Queue);
    const cards = container.querySelectorAll("[data-job]");
    expect(cards.length).toBe(3);
    const first = cards[0].textContent ?? "";
    expect(first).toContain("Truyện ngắn 1");
    expect(first).toContain("10/40");
    expect(first).toContain("1:05");
    expect(first).toContain("1:30");
    expect(first).toContain("Tạm dừng");
    expect(cards[1].textContent).toContain("Tiếp tục");
    expect(cards[2].textContent).toContain("Thử lại");
    expect(container.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow")).toBe("10");
  });
  it("renders only the cards in view when 2,000 jobs are queued", () => {
    jobs.set(Array.from({ length: 2000 }, (_, i) => job(i + 1, "queued")));
    const { container } = render(Queue);
    const n = container.querySelectorAll("[data-job]").length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(60);
  });
});
