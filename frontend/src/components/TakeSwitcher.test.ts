// The take switcher of the selected sentence, against a fake Go side and a fake Wails runtime.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { get } from "svelte/store";
import TakeSwitcher from "./TakeSwitcher.svelte";
import DocumentView from "./DocumentView.svelte";
import { project, chapterId, segments, notices } from "../lib/stores";
import { locale } from "../lib/i18n";
import type { Segment, Takes } from "../lib/backend";

type Handler = (p: unknown) => void;
let handlers: Map<string, Handler[]>;
const emit = (name: string, p: unknown) => handlers.get(name)?.forEach((h) => h(p));
const seg = (id: number, source: string): Segment => ({ id, index: id, source, spoken: source, state: "done", seconds: 2, voice: "lan" });

// a sentence with three takes, the second one current; the fake keeps the list as the backend would
let state: Takes;
let app: Record<string, ReturnType<typeof vi.fn>>;
beforeEach(() => {
  locale.set("vi");
  notices.set([]);
  handlers = new Map();
  window.runtime = {
    EventsOn: (name: string, cb: Handler) => {
      handlers.set(name, [...(handlers.get(name) ?? []), cb]);
      return () => handlers.set(name, (handlers.get(name) ?? []).filter((h) => h !== cb));
    },
  } as unknown as Window["runtime"];
  state = { segmentId: 7, count: 3, current: 1 };
  app = {
    Takes: vi.fn(async (id: number) => ({ ...state, segmentId: id })),
    NewTake: vi.fn(async () => (state = { ...state, count: state.count + 1, current: state.count })),
    UseTake: vi.fn(async (_id: number, i: number) => (state = { ...state, current: i })),
    Play: vi.fn(async () => {}),
    Segments: vi.fn(async () => [seg(7, "Sáng nay trời se lạnh.")]),
  };
  window.go = { main: { App: app } } as unknown as Window["go"];
});
afterEach(() => { delete window.runtime; delete window.go; project.set(undefined); segments.set([]); });

describe("the take switcher", () => {
  it("says which take is heard, and switches to the previous one and plays it", async () => {
    render(TakeSwitcher, { props: { projectId: 9, segmentId: 7 } });
    await screen.findByText("Lần đọc 2/3");
    await fireEvent.click(screen.getByRole("button", { name: "Lần đọc trước ([)" }));
    expect(app.UseTake).toHaveBeenCalledWith(7, 0);
    await screen.findByText("Lần đọc 1/3");
    await waitFor(() => expect(app.Play).toHaveBeenCalledWith(9, 7));
    expect((screen.getByRole("button", { name: "Lần đọc trước ([)" }) as HTMLButtonElement).disabled).toBe(true);
    expect(app.NewTake).not.toHaveBeenCalled();
  });
  it("goes no further than the last take", async () => {
    state = { segmentId: 7, count: 2, current: 1 };
    render(TakeSwitcher, { props: { projectId: 9, segmentId: 7 } });
    await screen.findByText("Lần đọc 2/2");
    const next = screen.getByRole("button", { name: "Lần đọc sau (])" }) as HTMLButtonElement;
    expect(next.disabled).toBe(true);
    await fireEvent.keyDown(window, { key: "]" });
    expect(app.UseTake).not.toHaveBeenCalled();
  });
  it("makes a new take and plays it once it is rendered, not before", async () => {
    locale.set("en");
    const onchange = vi.fn();
    render(TakeSwitcher, { props: { projectId: 9, segmentId: 7, onchange } });
    await screen.findByText("Take 2 of 3");
    await fireEvent.click(screen.getByRole("button", { name: "New take" }));
    expect(app.NewTake).toHaveBeenCalledWith(7);
    await screen.findByText("Take 4 of 4");
    expect(screen.getByText("Rendering the new take…")).toBeTruthy();
    expect(onchange).toHaveBeenCalled();
    emit("segment", { id: 8, jobId: 1, state: "done" }); // another sentence
    emit("segment", { id: 7, jobId: 1, state: "queued" });
    expect(app.Play).not.toHaveBeenCalled();
    emit("segment", { id: 7, jobId: 1, state: "done", seconds: 2 });
    await waitFor(() => expect(app.Play).toHaveBeenCalledWith(9, 7));
    await waitFor(() => expect(screen.queryByText("Rendering the new take…")).toBeNull());
  });
  it("takes a new take with T and switches with [ and ], but not while typing", async () => {
    const { container } = render(TakeSwitcher, { props: { projectId: 9, segmentId: 7 } });
    await screen.findByText("Lần đọc 2/3");
    const input = document.createElement("input");
    container.appendChild(input);
    await fireEvent.keyDown(input, { key: "t" });
    expect(app.NewTake).not.toHaveBeenCalled();
    await fireEvent.keyDown(window, { key: "[" });
    await screen.findByText("Lần đọc 1/3");
    await fireEvent.keyDown(window, { key: "t" });
    await screen.findByText("Lần đọc 4/4");
    expect(app.NewTake).toHaveBeenCalledTimes(1);
  });
  it("shows an error from the backend instead of a take", async () => {
    app.NewTake = vi.fn(async () => { throw new Error("segment 7: not found"); });
    render(TakeSwitcher, { props: { projectId: 9, segmentId: 7 } });
    await screen.findByText("Lần đọc 2/3");
    await fireEvent.click(screen.getByRole("button", { name: "Đọc lần khác" }));
    await waitFor(() => expect(get(notices).some((n) => n.kind === "error" && n.text.includes("segment 7: not found"))).toBe(true));
    await screen.findByText("Lần đọc 2/3");
    expect(screen.queryByText("Đang đọc lần mới…")).toBeNull();
  });
});

describe("the document view", () => {
  it("shows the takes of the sentence clicked", async () => {
    project.set({ id: 9, title: "Mùa thu", source: "mua-thu.txt", format: "text", chapters: [{ id: 4, title: "" }] });
    chapterId.set(4);
    segments.set([seg(7, "Sáng nay trời se lạnh."), seg(8, "Tôi ở Hà Nội.")]);
    const { container } = render(DocumentView);
    expect(container.querySelector("[data-takes]")).toBeNull();
    await fireEvent.click(container.querySelector('[data-segment="8"] .text')!);
    await waitFor(() => expect(container.querySelector("[data-takes]")?.getAttribute("data-takes")).toBe("8"));
    expect(app.Takes).toHaveBeenCalledWith(8);
    expect(container.querySelector('[data-segment="8"]')?.classList.contains("selected")).toBe(true);
    await screen.findByText("Lần đọc 2/3");
  });
});
