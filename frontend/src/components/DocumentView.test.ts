import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { get } from "svelte/store";
import DocumentView from "./DocumentView.svelte";
import { project, chapterId, segments, playback, notices, showSpoken } from "../lib/stores";
import { locale } from "../lib/i18n";
import type { Segment } from "../lib/backend";

const seg = (id: number, source: string, spoken = source.toLowerCase()): Segment =>
  ({ id, index: id, source, spoken, state: "done", seconds: 2, voice: "lan" });

let app: Record<string, ReturnType<typeof vi.fn>>;
beforeEach(() => {
  locale.set("vi");
  notices.set([]);
  showSpoken.set(false);
  app = {
    Play: vi.fn(async () => {}),
    Takes: vi.fn(async (id: number) => ({ segmentId: id, count: 1, current: 0 })),
    AddLexiconEntry: vi.fn(async () => [2]),
    Segments: vi.fn(async () => [seg(1, "Sáng nay trời se lạnh."), seg(2, "Tôi ở Hà Nội.", "tôi ở thủ đô hà nội.")]),
  };
  window.go = { main: { App: app } } as unknown as Window["go"];
  project.set({ id: 9, title: "Mùa thu", source: "mua-thu.txt", format: "text", chapters: [{ id: 4, title: "" }] });
  chapterId.set(4);
  segments.set([seg(1, "Sáng nay trời se lạnh."), seg(2, "Tôi ở Hà Nội.")]);
});
afterEach(() => { delete window.go; project.set(undefined); segments.set([]); });

describe("the document view", () => {
  it("names an untitled chapter after the document and plays from a clicked sentence", async () => {
    const { container } = render(DocumentView);
    expect(screen.getByRole("button", { name: "Mùa thu" })).toBeTruthy();
    await fireEvent.click(container.querySelector('[data-segment="2"] .text')!);
    expect(app.Play).toHaveBeenCalledWith(9, 2);
  });
  it("highlights the sentence being heard", async () => {
    const { container } = render(DocumentView);
    playback.set({ playing: true, paused: false, waiting: false, segmentId: 1, offset: 0, rate: 1, volume: 1 });
    await waitFor(() => expect(container.querySelector('[data-segment="1"]')?.classList.contains("playing")).toBe(true));
    expect(container.querySelector('[data-segment="2"]')?.classList.contains("playing")).toBe(false);
    playback.set({ playing: false, paused: false, waiting: false, segmentId: 0, offset: 0, rate: 1, volume: 1 });
  });
  it("adds a lexicon entry for this document and reloads the sentences it changed", async () => {
    const { container } = render(DocumentView);
    await fireEvent.input(container.querySelector("input[name=lexWord]")!, { target: { value: " Hà Nội " } });
    await fireEvent.input(container.querySelector("input[name=lexSpoken]")!, { target: { value: "thủ đô Hà Nội" } });
    await fireEvent.submit(container.querySelector("form.lex")!);
    expect(app.AddLexiconEntry).toHaveBeenCalledWith(9, "Hà Nội", "thủ đô Hà Nội", false);
    await waitFor(() => expect(get(notices).some((n) => n.text === "Đọc lại 1 câu")).toBe(true));
    await fireEvent.click(container.querySelector("input[name=showSpoken]")!);
    await waitFor(() => expect(container.querySelector('[data-segment="2"] .spoken')?.textContent).toBe("tôi ở thủ đô hà nội."));
  });
});
